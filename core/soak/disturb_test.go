package soak

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
)

// TestDisturbWaitsOnTheClock checks that the disturbed run is looked at only
// when the clock has moved on by a wait between minWait and maxWait, that a
// look at a run that is not pretraining yet kills nothing and waits again,
// and that the host's end ends the disturbance: all on a fake clock, with
// no sleeping.
func TestDisturbWaitsOnTheClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var out bytes.Buffer
	s := &soak{out: &out, rng: rand.New(rand.NewPCG(1, 0x50a6)), clock: fake, pluginKills: 1, hostKills: 1}
	done := make(chan error, 1)
	type result struct {
		killed bool
		err    error
	}
	res := make(chan result, 1)
	root := filepath.Join(t.TempDir(), "disturbed") // no run yet: not pretraining
	go func() {
		k, err := s.disturb(context.Background(), -1, root, done)
		res <- result{k, err}
	}()
	for look := 0; look < 3; look++ {
		fake.BlockUntil(1)
		if n := fake.Due(minWait - time.Millisecond); n != 0 {
			t.Fatalf("look %d: %d waits end before minWait %v", look, n, minWait)
		}
		if n := fake.Due(maxWait); n != 1 {
			t.Fatalf("look %d: %d waits end by maxWait %v, want 1", look, n, maxWait)
		}
		fake.Advance(maxWait)
	}
	fake.BlockUntil(1)
	done <- nil
	r := <-res
	if r.killed || r.err != nil {
		t.Fatalf("disturb = %v, %v; want no host kill and no error", r.killed, r.err)
	}
	if s.pluginKills != 1 || s.hostKills != 1 || len(s.killed) != 0 || out.Len() != 0 {
		t.Errorf("killed something before pretraining: %d plugin and %d host kills left, killed %q, output %q",
			s.pluginKills, s.hostKills, s.killed, out.String())
	}
}

// TestDisturbStopsOnCancel checks that a cancelled soak stops waiting at
// once, with the context's error, though the clock never moves.
func TestDisturbStopsOnCancel(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := &soak{out: &bytes.Buffer{}, rng: rand.New(rand.NewPCG(1, 0x50a6)), clock: fake}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := s.disturb(ctx, -1, t.TempDir(), make(chan error))
		res <- err
	}()
	fake.BlockUntil(1)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("disturb after cancel = %v, want context.Canceled", err)
	}
}
