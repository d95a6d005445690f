package torchenc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/torchenc/c10d"
	"github.com/convirt/convirt/plugins/sdk"
)

// TestApartSteps: replicas refused for starting at different steps tell
// their host the earliest, where all hosts resume together; a check that
// is not a step leaves c10d's refusal as it was.
func TestApartSteps(t *testing.T) {
	refusal := errors.New("rendezvous at h:1, rank 0 of 3: the ranks do not start alike: rank 0 step 6, rank 1 step 4, rank 2 step 6")
	err := apartSteps(refusal, []string{"step 6", "step 4", "step 6"})
	var apart *sdk.ApartError
	if !errors.As(err, &apart) || apart.Step != 4 || !strings.Contains(err.Error(), refusal.Error()) || !strings.Contains(err.Error(), "every host resumes at step 4") {
		t.Errorf("got %v (%+v)", err, apart)
	}
	if err := apartSteps(refusal, []string{"step 6", "at 4"}); errors.As(err, &apart) || !errors.Is(err, refusal) {
		t.Errorf("a check that is not a step: %v", err)
	}
}

// TestJoinError: c10d's refusal of replicas that start apart is an
// *sdk.ApartError, a peer lost once the group formed a failed collective
// (the host restarts on it, on several hosts), and other rendezvous
// failures (a rank that never joined) neither.
func TestJoinError(t *testing.T) {
	apart := fmt.Errorf("rendezvous at h:1, rank 0 of 2: %w", &c10d.ApartError{Checks: []string{"step 4", "step 2"}})
	var ae *sdk.ApartError
	if err := joinError(apart); !errors.As(err, &ae) || ae.Step != 2 || errors.Is(err, sdk.ErrCollective) {
		t.Errorf("apart: got %v", err)
	}
	lost := fmt.Errorf("rendezvous at h:1, rank 1 of 2: %w: c10d all-reduce: closed", c10d.ErrPeerLost)
	if err := joinError(lost); !errors.Is(err, sdk.ErrCollective) || !errors.Is(err, c10d.ErrPeerLost) || errors.As(err, &ae) {
		t.Errorf("lost: got %v", err)
	}
	never := errors.New("rendezvous at h:1, rank 0 of 2: rank(s) 1 never joined within 1s")
	if err := joinError(never); err != never {
		t.Errorf("never joined: got %v", err)
	}
}

// TestGlooInterfaces: GLOO_SOCKET_IFNAME lists interfaces by commas, as
// torch.distributed reads it; unset, none.
func TestGlooInterfaces(t *testing.T) {
	for v, want := range map[string][]string{"": nil, "eth0": {"eth0"}, "ib0, ib1,": {"ib0", "ib1"}} {
		got := glooInterfaces(func(k string) string {
			if k == "GLOO_SOCKET_IFNAME" {
				return v
			}
			return ""
		})
		if !slices.Equal(got, want) {
			t.Errorf("GLOO_SOCKET_IFNAME=%q: %q, want %q", v, got, want)
		}
	}
}
