package experiment

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
)

// A run that fails at its report step ends FAILED on MLflow too, as it
// does locally.
func TestRunFailingAtReportEndsFailedOnMLflow(t *testing.T) {
	f := mlflowtest.NewServer(t)
	out := t.TempDir()
	prev, err := runs.Create(out, "exp", runs.Options{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Finish(runs.Failed); err != nil {
		t.Fatal(err)
	}
	// report.html cannot be written: a directory, not empty, holds its name.
	if err := os.MkdirAll(filepath.Join(prev.Dir(), "report.html", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &recipe.Recipe{Name: "n", Experiment: "exp", Output: out}
	r.Tracking.MLflow.URI = f.URL
	_, err = Run(context.Background(), r, Options{Launcher: testLauncher(), Resume: prev.Dir()})
	if err == nil || !strings.Contains(err.Error(), "report") {
		t.Fatalf("Run: %v, want a report error", err)
	}
	if m, err := runs.ReadMeta(prev.Dir()); err != nil || m.Status != runs.Failed {
		t.Errorf("local status %q (%v), want failed", m.Status, err)
	}
	if st := f.OnlyRun(t).Info.Status; st != mlflow.StatusFailed {
		t.Errorf("MLflow status %s, want %s", st, mlflow.StatusFailed)
	}
}

// A stage that panics does not leave the run "running": the panic becomes
// an error naming the stage, and the run ends failed locally and on MLflow.
func TestPanickingStageEndsTheRunFailed(t *testing.T) {
	f := mlflowtest.NewServer(t)
	out := t.TempDir()
	r := &recipe.Recipe{Name: "n", Experiment: "exp", Output: out}
	r.Tracking.MLflow.URI = f.URL
	r.Data.Synth = &recipe.Synth{Root: filepath.Join(out, "corpus"), Pairs: 5, Size: 16, Seed: 7}
	w := &SynthCorpus{Version: 1, Write: func(context.Context, string, int, int, int64, func()) error {
		panic("writer bug")
	}}
	o, err := Run(context.Background(), r, Options{Launcher: testLauncher(), Synth: w})
	if err == nil || !strings.Contains(err.Error(), "synthesis") || !strings.Contains(err.Error(), "writer bug") {
		t.Fatalf("Run: %v, want an error naming the stage and the panic", err)
	}
	if m, err := runs.ReadMeta(o.RunDir); err != nil || m.Status != runs.Failed {
		t.Errorf("local status %q (%v), want failed", m.Status, err)
	}
	if st := f.OnlyRun(t).Info.Status; st != mlflow.StatusFailed {
		t.Errorf("MLflow status %s, want %s", st, mlflow.StatusFailed)
	}
}

// A run whose tracking cannot start is not left "running": it ends failed.
func TestRunWhoseTrackingCannotStartEndsFailed(t *testing.T) {
	out := t.TempDir()
	r := &recipe.Recipe{Name: "n", Experiment: "exp", Output: out}
	r.Tracking.MLflow.URI = "ftp://tracking.example"
	if _, err := Run(context.Background(), r, Options{Launcher: testLauncher()}); err == nil || !strings.Contains(err.Error(), "http") {
		t.Fatalf("Run: %v, want the tracking URI refused", err)
	}
	ms, err := runs.List(out, runs.Filter{})
	if err != nil || len(ms) != 1 || ms[0].Status != runs.Failed {
		t.Fatalf("runs %+v (%v), want one, failed", ms, err)
	}
}
