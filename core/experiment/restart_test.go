package experiment

import (
	"errors"
	"fmt"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
)

// TestRestartCause: a plugin's death restarts the run wherever it runs; a
// replicas' failed collective with no death on this host restarts it only
// when the run is one of several hosts'; anything else is the run's error.
func TestRestartCause(t *testing.T) {
	dead := fmt.Errorf("step 3: replica 1 of 2: %w", &host.ExitError{Plugin: "bert", PID: 7, Status: "signal: killed"})
	lost := fmt.Errorf("step 3: plugin %q: Forward: gather: %w: connection closed by peer", "bert", sdk.ErrCollective)
	other := errors.New("step 3: loss is NaN")
	apart := fmt.Errorf("step 7: plugin %q: Forward: %w", "bert", &sdk.ApartError{Step: 4, Msg: "start apart"})
	apartStart := fmt.Errorf("step 1: %w", &sdk.ApartError{Step: 0, Msg: "start apart"})
	const newest = "the newest checkpoint"
	for _, c := range []struct {
		err          error
		severalHosts bool
		ok           bool
		what, from   string
	}{
		{dead, false, true, `plugin "bert" died`, newest},
		{dead, true, true, `plugin "bert" died`, newest},
		{lost, true, true, "a replica on another host was lost", newest},
		{lost, false, false, "", ""},
		{other, true, false, "", ""},
		{apart, true, true, "the hosts resumed from different checkpoints", "the checkpoint of step 4"},
		{apartStart, true, true, "the hosts resumed from different checkpoints", "the start"},
	} {
		got, ok := restartCause(c.err, c.severalHosts)
		if ok != c.ok || got.what != c.what || (ok && got.from() != c.from) {
			t.Errorf("restartCause(%v, several hosts %v) = %+v, %v; want %q from %q, %v", c.err, c.severalHosts, got, ok, c.what, c.from, c.ok)
		}
	}
}
