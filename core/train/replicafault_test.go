package train

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/plugins/sdk"
)

// exitFake is the error of a replica process that died, as the host
// reports it (a *host.ExitError, which core/experiment's restart looks for).
type exitFake struct{ rank int }

func (e *exitFake) Error() string { return "plugin \"bert\" exited unexpectedly (signal: killed)" }

// supervisedFake is a replica whose process the host supervises: step
// is its Step; exited is closed, with exit set, when its process died.
type supervisedFake struct {
	replicaFake
	step   func(ctx context.Context) error
	exited chan struct{}
	exit   error
}

func (f *supervisedFake) Step(ctx context.Context, _ sdk.StepRequest) error { return f.step(ctx) }
func (f *supervisedFake) Exited() <-chan struct{}                           { return f.exited }
func (f *supervisedFake) ExitErr() error {
	select {
	case <-f.exited:
		return f.exit
	default:
		return nil
	}
}

// errReset is the survivor's collective failing on its dead peer.
var errReset = errors.New("c10d all-reduce: rank 0 of 2: [gloo/transport/tcp/pair.cc:589] Read error [127.0.0.1]: Connection reset by peer")

// replicaPair returns replicas 0 (the survivor) and 1 (the one that dies)
// on a fake clock.
func replicaPair(t *testing.T, survivor, dying func(ctx context.Context) error) (*Replicas, *supervisedFake, *clock.Fake) {
	t.Helper()
	s := &supervisedFake{step: survivor, exited: make(chan struct{})}
	d := &supervisedFake{step: dying, exited: make(chan struct{}), exit: &exitFake{rank: 1}}
	r, err := NewReplicas([]Encoder{s, d})
	if err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Unix(0, 0))
	r.Clock = fc
	return r, d, fc
}

// wantDeath checks that err carries the dead replica's exit, which is
// what has the run restart every replica from the newest checkpoint.
func wantDeath(t *testing.T, err error) {
	t.Helper()
	var dead *exitFake
	if !errors.As(err, &dead) || dead.rank != 1 || !strings.Contains(err.Error(), "replica 1 of 2: step:") {
		t.Fatalf("step error %v does not carry replica 1's death (a fatal step error, not a restart)", err)
	}
}

// TestReplicaDeathAfterPeerError: the survivor's all-reduce fails on its
// dead peer before the host has seen the peer's process exit; the step's
// error is still the death, so the run restarts every replica from the
// newest checkpoint instead of failing.
func TestReplicaDeathAfterPeerError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, d, fc := replicaPair(t,
		func(context.Context) error { return errReset },
		func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }) // its call cancelled before the host saw it die
	res := make(chan error, 1)
	go func() { res <- r.Step(ctx, sdk.StepRequest{}) }()
	waiting := make(chan struct{})
	go func() { fc.BlockUntil(1); close(waiting) }()
	select {
	case err := <-res:
		t.Fatalf("step returned before the dead replica's exit was seen: %v", err)
	case <-waiting: // the group waits, bounded by PeerExitGrace, for a peer's exit
	}
	close(d.exited)
	err := <-res
	wantDeath(t, err)
	if !strings.Contains(err.Error(), "Connection reset by peer") {
		t.Errorf("step error %v drops the survivor's error", err)
	}
}

// TestReplicaDeathBeforePeerError: the dead replica's exit is seen first,
// then the survivor's all-reduce fails: the same restart.
func TestReplicaDeathBeforePeerError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var d *supervisedFake
	r, d, _ := replicaPair(t,
		func(ctx context.Context) error { <-ctx.Done(); return errReset },
		func(context.Context) error { close(d.exited); return d.exit })
	wantDeath(t, r.Step(ctx, sdk.StepRequest{}))
}

// TestReplicaPeerErrorWithoutDeath: a collective that fails with every
// replica alive stays the step's error once PeerExitGrace has passed, and
// fails the run as before.
func TestReplicaPeerErrorWithoutDeath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, _, fc := replicaPair(t,
		func(context.Context) error { return errReset },
		func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	res := make(chan error, 1)
	go func() { res <- r.Step(ctx, sdk.StepRequest{}) }()
	fc.BlockUntil(1)
	fc.Advance(PeerExitGrace)
	err := <-res
	var dead *exitFake
	if !errors.Is(err, errReset) || errors.As(err, &dead) || !strings.Contains(err.Error(), "replica 0 of 2: step:") {
		t.Fatalf("step error %v, want replica 0's all-reduce error", err)
	}
}
