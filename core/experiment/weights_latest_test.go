package experiment

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// storeRun makes a run of experiment exp under the run store "runs" (a
// relative path: the tests run in a temporary working directory), started
// at minute min of a fixed day, ending with status st; pretrained runs get
// the toy pretraining's checkpoints.
func storeRun(t *testing.T, exp string, min int, st runs.Status, pretrained bool) string {
	t.Helper()
	r, err := runs.Create("runs", exp, runs.Options{Name: exp})
	if err != nil {
		t.Fatal(err)
	}
	if pretrained {
		pretrainToy(t, r.Dir(), true)
	}
	if st != runs.Running {
		if err := r.Finish(st); err != nil {
			t.Fatal(err)
		}
	}
	// The start time orders the runs; set it rather than trust the clock.
	path := filepath.Join(r.Dir(), runs.MetaFile)
	var m map[string]any
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	m["start_time"] = time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return r.Dir()
}

// TestResolveLatestCheckpoint: latest:EXPERIMENT is the newest finished run
// of that experiment with a checkpoint; newer running, failed and
// checkpoint-less runs, and other experiments' runs, are passed over; a
// path is returned as it is.
func TestResolveLatestCheckpoint(t *testing.T) {
	t.Chdir(t.TempDir())
	storeRun(t, "pretrain-mimic", 1, runs.Finished, true)
	want := storeRun(t, "pretrain-mimic", 2, runs.Finished, true)
	storeRun(t, "pretrain-mimic", 3, runs.Failed, true)
	storeRun(t, "pretrain-mimic", 4, runs.Running, true)
	storeRun(t, "pretrain-mimic", 5, runs.Finished, false)
	storeRun(t, "pretrain-bone", 6, runs.Finished, true)

	got, err := ResolveCheckpoint("runs", "latest:pretrain-mimic")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("latest:pretrain-mimic = %s, want %s", got, want)
	}
	if got, err := ResolveCheckpoint("runs", "runs/x/some-run"); got != "runs/x/some-run" || err != nil {
		t.Errorf("a path: %q, %v", got, err)
	}
}

// TestResolveLatestCheckpointErrors: no finished pretraining, an empty or
// invalid experiment name: each error names the reference, and the first
// the store folder and what to do.
func TestResolveLatestCheckpointErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	storeRun(t, "pretrain-mimic", 1, runs.Failed, true)
	storeRun(t, "pretrain-mimic", 2, runs.Finished, false)
	_, err := ResolveCheckpoint("runs", "latest:pretrain-mimic")
	if err == nil {
		t.Fatal("no finished pretraining: no error")
	}
	for _, want := range []string{`"latest:pretrain-mimic"`, "1 finished run(s), none with a checkpoint", filepath.Join("runs", "pretrain-mimic"), "run the pretraining recipe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := ResolveCheckpoint("runs", "latest:pretrain-bone"); err == nil || !strings.Contains(err.Error(), "no finished run of experiment") {
		t.Errorf("empty store: %v", err)
	}
	for _, ref := range []string{"latest:", "latest:../x"} {
		if _, err := ResolveCheckpoint("runs", ref); err == nil || !strings.Contains(err.Error(), "want latest:EXPERIMENT") {
			t.Errorf("%s: %v", ref, err)
		}
	}
}

// TestEvaluationWeightsFromLatestRun: an evaluation whose checkpoint is
// latest:EXPERIMENT restores that run's best weights, found in the recipe's
// run store (its output, relative to the working directory).
func TestEvaluationWeightsFromLatestRun(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := storeRun(t, "pretrain-mimic", 1, runs.Finished, true)
	s := &session{r: &recipe.Recipe{Output: "runs"}}
	w, err := s.pretrainedWeights(recipe.Eval{Name: "probe", Checkpoint: "latest:pretrain-mimic"})
	if err != nil {
		t.Fatal(err)
	}
	checkWeights(t, w, "best", 8, 1)
	if want := filepath.Join(dir, runs.CheckpointsDir, train.BestFile); w.source != want {
		t.Errorf("source %s, want %s", w.source, want)
	}
	_, err = s.pretrainedWeights(recipe.Eval{Name: "probe", Checkpoint: "latest:pretrain-bone"})
	if err == nil || !strings.Contains(err.Error(), "evaluation probe: checkpoint \"latest:pretrain-bone\"") {
		t.Errorf("no such run: %v", err)
	}
}
