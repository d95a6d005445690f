package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// stop ends the loop on err. When ctx was cancelled the state is whole (a
// begun step finished; an abandoned validation is due again), so it is
// checkpointed and the error is ctx's alone: the interruption was asked
// for, and what it interrupted is no failure.
func (l *loop) stop(ctx context.Context, res Result, start time.Time, startStep int, err error) (Result, error) {
	if ctx.Err() != nil {
		err = ctx.Err()
		res.StopReason = "interrupted"
		if cerr := l.checkpoint(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return l.result(res, start, startStep), err
}

// checkpoint saves the loop's state and every plugin's, after the
// recorder's metrics (Syncer), unless the last checkpoint is of this step:
// the loop changes no state between a periodic checkpoint and the end of
// the run, so the final one would write the same again. A checkpoint begun
// is finished even when ctx is cancelled: the final save of an interrupted
// run is one.
func (l *loop) checkpoint(ctx context.Context) error {
	if l.cfg.CheckpointDir == "" {
		return nil
	}
	path := filepath.Join(l.cfg.CheckpointDir, StepFile(l.st.Step))
	if path == l.lastCk {
		return nil // this state is saved: the run ended right after a periodic checkpoint
	}
	ctx = context.WithoutCancel(ctx)
	if sy, ok := l.p.Recorder.(Syncer); ok {
		if err := sy.Sync(); err != nil && l.p.Warn != nil {
			l.p.Warn(fmt.Sprintf("the metrics up to step %d are not on disk before its checkpoint: %v", l.st.Step, err))
		}
	}
	ck, err := capture(ctx, l.p, l.st)
	if err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", l.st.Step, err)
	}
	if err := Save(l.cfg.CheckpointDir, ck); err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", l.st.Step, err)
	}
	l.lastCk = path
	return nil
}
