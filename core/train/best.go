package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// adoptBest reconciles the loop state with BestFile in the checkpoint
// directory. A resumed run keeps the best checkpoint it finds when its
// validation loss is lower than any the resumed state knows (it may have
// been written after the newest step checkpoint), so a later, worse
// validation cannot replace it; a damaged one is removed and described in
// bad, and the next validation writes a new one. A fresh run removes
// a stale one, which belongs to another run.
func adoptBest(cfg Config, st *state) (bad string, err error) {
	if cfg.CheckpointDir == "" {
		return "", nil
	}
	path := filepath.Join(cfg.CheckpointDir, BestFile)
	if !cfg.Resume {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("remove the stale best checkpoint: %w", err)
		}
		return "", nil
	}
	ck, err := LoadBest(cfg.CheckpointDir)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		return "", nil
	case err != nil:
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return "", fmt.Errorf("%v; removing it: %w", err, rerr)
		}
		st.HasMinVal = false // the next validation writes a new one
		return err.Error() + " (removed)", nil
	}
	if v, _ := ck.ValLoss(); !st.HasMinVal || v < st.MinVal {
		st.MinVal, st.MinValStep, st.HasMinVal = v, ck.Step(), true
	}
	return "", nil
}

// keepBest writes the current weights as BestFile when val is the lowest
// validation loss so far.
func (l *loop) keepBest(ctx context.Context, val float64) error {
	if math.IsNaN(val) || (l.st.HasMinVal && !(val < l.st.MinVal)) {
		return nil
	}
	l.st.MinVal, l.st.MinValStep, l.st.HasMinVal = val, l.st.Step, true
	if l.cfg.CheckpointDir == "" {
		return nil
	}
	ck, err := capture(ctx, l.p, l.st)
	if err == nil {
		err = saveBest(l.cfg.CheckpointDir, ck)
	}
	if err != nil {
		return fmt.Errorf("best checkpoint at step %d: %w", l.st.Step, err)
	}
	return nil
}
