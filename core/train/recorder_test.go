package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// durableRecorder is a Recorder that is also a Rewinder and a Syncer: it
// keeps the steps of train/loss it was given, which of them a sync made
// durable, and what it was told at each start.
type durableRecorder struct {
	dir      string
	logged   []int64 // train/loss steps, in order
	syncs    []int64 // the last logged step at each Sync
	rewinds  []int64
	badSyncs []string // checkpoints that existed before their Sync
}

func (r *durableRecorder) LogMetric(key string, _ float64, step int64) error {
	if key == "train/loss" {
		r.logged = append(r.logged, step)
	}
	return nil
}

func (r *durableRecorder) Sync() error {
	last := r.logged[len(r.logged)-1]
	if _, err := os.Stat(filepath.Join(r.dir, StepFile(int(last)))); !errors.Is(err, os.ErrNotExist) {
		r.badSyncs = append(r.badSyncs, StepFile(int(last)))
	}
	r.syncs = append(r.syncs, last)
	return nil
}

func (r *durableRecorder) Rewind(step int64) error {
	r.rewinds = append(r.rewinds, step)
	return nil
}

// TestRecorderSyncsBeforeCheckpointsAndHearsRewinds: every checkpoint is
// written after a Sync of the recorder that covers its step's values, so
// a crash never leaves a checkpoint whose steps' values were lost; each
// Run tells the recorder the step it starts after: 0 from scratch, the
// checkpoint's step on a resume.
func TestRecorderSyncsBeforeCheckpointsAndHearsRewinds(t *testing.T) {
	dir := t.TempDir()
	rec := &durableRecorder{dir: dir}
	p, _ := scriptedParts(9, 9, 9, 9)
	p.Recorder = rec
	cfg := bestConfig(dir, 6) // checkpoints at steps 2, 4 and 6
	if _, err := Run(context.Background(), cfg, p); err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 4, 6}; !slices.Equal(rec.syncs, want) {
		t.Errorf("synced after steps %v, want %v: once before each checkpoint, covering its step (the final one of step 6 is not written twice)", rec.syncs, want)
	}
	if len(rec.badSyncs) > 0 {
		t.Errorf("checkpoints written before the sync of their values: %v", rec.badSyncs)
	}
	p2, _ := scriptedParts(9, 9, 9, 9)
	p2.Recorder = rec
	cfg.MaxSteps, cfg.Resume = 8, true
	if _, err := Run(context.Background(), cfg, p2); err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 4, 6, 8}; !slices.Equal(rec.syncs, want) {
		t.Errorf("synced after steps %v, want %v: the resumed run once, before its checkpoint of step 8", rec.syncs, want)
	}
	if want := []int64{0, 6}; !slices.Equal(rec.rewinds, want) {
		t.Errorf("rewinds %v, want %v: the first run from scratch, the resume after step 6", rec.rewinds, want)
	}
}
