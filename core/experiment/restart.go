package experiment

import (
	"context"
	"errors"
	"fmt"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
)

// cause is why pretraining failed, when the run survives it by restarting
// every plugin: what (for the log, the terminal and a failed restart's
// error), its detail, and where training resumes: the newest checkpoint,
// or with at set the checkpoint of step at (0: the start).
type cause struct {
	what, detail string
	at           *int
}

// from says where a restart for c resumes, for the log.
func (c cause) from() string {
	switch {
	case c.at == nil:
		return "the newest checkpoint"
	case *c.at == 0:
		return "the start"
	}
	return fmt.Sprintf("the checkpoint of step %d", *c.at)
}

// restartCause says whether err, pretraining's failure, is one the run
// survives by restarting: a plugin's death, or, when the run is one of
// several hosts' (severalHosts), a collective of an encoder's replicas
// that failed with no replica of this host dead (sdk.ErrCollective: a
// replica on another host died, and that host restarts its own; all meet
// again at a new rendezvous, docs/distributed.md). On one host such a
// failure without a death is the run's error. Replicas that refused to
// start apart (sdk.ApartError: the hosts resumed from different
// checkpoints) restart at the earliest of their steps, where every host
// resumes.
func restartCause(err error, severalHosts bool) (cause, bool) {
	var dead *host.ExitError
	var apart *sdk.ApartError
	switch {
	case errors.As(err, &dead):
		return cause{what: fmt.Sprintf("plugin %q died", dead.Plugin), detail: dead.Status}, true
	case errors.As(err, &apart):
		at := int(apart.Step)
		return cause{what: "the hosts resumed from different checkpoints", detail: err.Error(), at: &at}, true
	case severalHosts && errors.Is(err, sdk.ErrCollective):
		return cause{what: "a replica on another host was lost", detail: err.Error()}, true
	}
	return cause{}, false
}

// startPretrainRestarting is startPretrain, starting the plugins again
// when one dies before its handshake (an *host.ExitError). Each try counts
// against train.max_restarts in restarts, as a death during training does;
// step is the training step it happens at, for the train/restarts metric.
func (s *session) startPretrainRestarting(ctx context.Context, totalSteps int, restarts *int, step int) (*pretrainParts, error) {
	for {
		p, err := s.startPretrain(ctx, totalSteps)
		if err == nil {
			return p, nil
		}
		p.close()
		var dead *host.ExitError
		if !errors.As(err, &dead) || ctx.Err() != nil {
			return nil, err
		}
		if *restarts >= s.r.Train.MaxRestarts {
			return nil, fmt.Errorf("%w (gave up after %d restarts: train.max_restarts)", err, *restarts)
		}
		*restarts++
		fmt.Fprintf(s.log, "plugin %q died while starting (%s); starting the plugins again (restart %d of at most %d)\n",
			dead.Plugin, dead.Status, *restarts, s.r.Train.MaxRestarts)
		fmt.Fprintf(s.opt.Progress, "plugin %q died while starting (%s): starting it again\n", dead.Plugin, dead.Status)
		_ = s.LogMetric("train/restarts", float64(*restarts), int64(step))
	}
}
