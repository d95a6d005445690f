package experiment

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/convirt/convirt/core/runs"
)

// executeOrRecover runs the stages, turning a panic in one of them into an
// error naming the stage (its stack goes to the run's log), so that the run
// still closes: marked failed locally and on every tracker, MLflow's
// included, with what it logged flushed, instead of staying "running".
func (s *session) executeOrRecover(ctx context.Context, out *Outcome) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(s.log, "panic during %s: %v\n%s", s.stage, p, debug.Stack())
			err = fmt.Errorf("%s: internal error (panic: %v; stack in %s)", s.stage, p, s.runPath(runs.LogsDir, "run.log"))
		}
	}()
	return s.execute(ctx, out)
}

// abandon closes a run that failed to open after its records were started
// (a tracker that could not start, params that could not be logged), so
// that it ends failed locally and on the trackers already started, and
// returns err. A run whose records were not started yet is left as it is
// (a refused --resume leaves the run it names untouched).
func (s *session) abandon(err error) error {
	if s.tracker == nil {
		return err
	}
	fmt.Fprintf(s.log, "run failed: %v\n", err)
	if cerr := s.close(runs.Failed); cerr != nil {
		return fmt.Errorf("%w (and closing the run: %v)", err, cerr)
	}
	return err
}
