package sdk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestConvertFirstErrorWins: the fields of a message convert in turn; the
// first that fails names itself in the error and the later ones are not
// converted.
func TestConvertFirstErrorWins(t *testing.T) {
	var err error
	calls := 0
	atoi := func(s string) (int, error) { calls++; return strconv.Atoi(s) }
	a, b, c := convert(&err, "a", "1", atoi), convert(&err, "b", "x", atoi), convert(&err, "c", "3", atoi)
	if a != 1 || b != 0 || c != 0 || calls != 2 {
		t.Errorf("got %d %d %d after %d calls; want 1 0 0 after 2", a, b, c, calls)
	}
	var ne *strconv.NumError
	if err == nil || err.Error() != `b: strconv.Atoi: parsing "x": invalid syntax` || !errors.As(err, &ne) {
		t.Errorf("err = %v, want b's, wrapped", err)
	}
}

// TestFailKeepsNil: a call that succeeded stays a success, so a client
// method can end in return c.fail(method, err).
func TestFailKeepsNil(t *testing.T) {
	b := &baseClient{name: "p"}
	if err := b.fail("Step", nil); err != nil {
		t.Errorf("fail(nil) = %v", err)
	}
	if err := b.fail("Step", errors.New("boom")); err == nil || err.Error() != `plugin "p": Step: boom` {
		t.Errorf("fail = %v", err)
	}
}

// TestCollectiveErrorCrossesTheWire: a replica's failed collective
// (ErrCollective) reaches the host as one, with the plugin's message once;
// other failures do not.
func TestCollectiveErrorCrossesTheWire(t *testing.T) {
	b := &baseClient{name: "p"}
	lost := fmt.Errorf("sum gradients over 2 replicas: %w: c10d all-reduce: Connection reset by peer", ErrCollective)
	err := b.fail("Step", rpcError(lost))
	if !errors.Is(err, ErrCollective) || err.Error() != `plugin "p": Step: `+lost.Error() {
		t.Errorf("collective failure: %v (is ErrCollective: %v)", err, errors.Is(err, ErrCollective))
	}
	if err := b.fail("Step", rpcError(errors.New("NaN in the loss"))); errors.Is(err, ErrCollective) {
		t.Errorf("an encoder's own failure is a collective one: %v", err)
	}
}

// TestApartErrorCrossesTheWire: replicas that start apart reach the host
// as an *ApartError with the step to resume at and the plugin's message.
func TestApartErrorCrossesTheWire(t *testing.T) {
	b := &baseClient{name: "p"}
	apart := fmt.Errorf("forward: %w", &ApartError{Step: 4, Msg: "replicas start at different steps: rank 0 at step 6, rank 1 at step 4"})
	err := b.fail("Forward", rpcError(apart))
	var got *ApartError
	if !errors.As(err, &got) || got.Step != 4 || err.Error() != `plugin "p": Forward: `+apart.Error() {
		t.Errorf("apart: %v (%+v)", err, got)
	}
	if err := b.fail("Forward", status.Error(codes.FailedPrecondition, "not configured")); errors.As(err, &got) {
		t.Errorf("a plain FailedPrecondition is an ApartError: %v", err)
	}
}

// TestDecodedNamesCallAndField: a failed call is fail's error; a reply
// that does not decode names the plugin, the method and the field.
func TestDecodedNamesCallAndField(t *testing.T) {
	b := &baseClient{name: "p"}
	if _, err := decoded(b, "Grad", errors.New("down"), "gradient", "1", strconv.Atoi); err == nil || err.Error() != `plugin "p": Grad: down` {
		t.Errorf("failed call: %v", err)
	}
	if n, err := decoded(b, "Grad", nil, "gradient", "x", strconv.Atoi); n != 0 || err == nil || !strings.HasPrefix(err.Error(), `plugin "p": Grad: gradient: strconv.Atoi`) {
		t.Errorf("bad field: %v, %v", n, err)
	}
	if n, err := decoded(b, "State", nil, "", "7", strconv.Atoi); n != 7 || err != nil {
		t.Errorf("good reply: %v, %v", n, err)
	}
}

// TestReplyRemovesSegmentsOnFailure: an encoding that fails is an Internal
// status naming what was encoded, and the segments made before it are
// removed.
func TestReplyRemovesSegmentsOnFailure(t *testing.T) {
	var made *outbox
	_, err := reply(WireOptions{}, "grad", func(out *outbox) (*pb.Empty, error) {
		made = out
		out.segs = append(out.segs, "seg")
		return &pb.Empty{}, errors.New("too big")
	})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "grad: too big") {
		t.Errorf("reply = %v, want an Internal status naming grad", err)
	}
	if len(made.segs) != 0 {
		t.Errorf("segments left after a failed reply: %v", made.segs)
	}
}
