package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

const sweepRecipe = `
name: sweep
experiment: sweep
output: RUNS
data: {synth: {root: DATA, pairs: 48, size: 32, seed: 1}}
image_encoder: {plugin: smallcnn, config: {proj_dim: 16, threads: 1}}
evaluate:
  - name: probe
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: linear
    fractions: [1.0]
    seeds: 1
    inits: [random]
sweep:
  seed: [0, 1]
`

// A sweep runs one child per alternative under a parent run; --dry-run only
// lists them.
func TestRunSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	dir := t.TempDir()
	runsDir := filepath.Join(dir, "runs")
	y := strings.NewReplacer("RUNS", runsDir, "DATA", filepath.Join(dir, "data")).Replace(sweepRecipe)
	path := filepath.Join(dir, "sweep.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "run", path, "--dry-run")
	if code != 0 || !strings.Contains(out, "run 1: seed=0") || !strings.Contains(out, "run 2: seed=1") {
		t.Fatalf("--dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(runsDir); err == nil {
		t.Fatal("--dry-run created runs")
	}
	if code, out, errs := runCLI(t, "run", path); code != 0 {
		t.Fatalf("sweep: exit %d\n%s\n%s", code, out, errs)
	}
	all, err := runs.List(runsDir, runs.Filter{Experiment: "sweep"})
	if err != nil || len(all) != 3 {
		t.Fatalf("runs: %d (%v), want a parent and 2 children", len(all), err)
	}
	var parent runs.Meta
	for _, m := range all {
		if m.ParentID == "" {
			parent = m
		}
	}
	kids, err := runs.Children(runsDir, parent.ID)
	if err != nil || len(kids) != 2 {
		t.Fatalf("children of %s: %d (%v)", parent.ID, len(kids), err)
	}
	names := map[string]bool{}
	for _, k := range kids {
		names[k.Name] = true
		if k.Status != runs.Finished {
			t.Errorf("child %s: %s", k.Name, k.Status)
		}
		if _, err := os.Stat(filepath.Join(k.Dir, "results.json")); err != nil {
			t.Errorf("child %s: %v", k.Name, err)
		}
	}
	if !names["sweep [seed=0]"] || !names["sweep [seed=1]"] || parent.Status != runs.Finished {
		t.Errorf("children %v, parent %s", names, parent.Status)
	}
}

// With MLflow on, the sweep's parent is an MLflow run too, and each child
// names it in mlflow.parentRunId.
func TestRunSweepInMLflow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	srv := mlflowtest.NewServer(t)
	dir := t.TempDir()
	y := strings.NewReplacer("RUNS", filepath.Join(dir, "runs"), "DATA", filepath.Join(dir, "data")).Replace(sweepRecipe)
	path := filepath.Join(dir, "sweep.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "run", path, "--set", "tracking.mlflow.uri="+srv.URL); code != 0 {
		t.Fatalf("sweep: exit %d\n%s\n%s", code, out, errs)
	}
	rs := srv.Runs()
	if len(rs) != 3 {
		t.Fatalf("%d MLflow runs, want 3", len(rs))
	}
	var parent string
	for _, r := range rs {
		if r.Tags["mlflow.parentRunId"] == "" {
			parent = r.Info.RunID
			if r.Params["sweep.seed"] == "" && r.Params["name"] != "sweep" {
				t.Errorf("parent params: %v", r.Params)
			}
		}
	}
	for _, r := range rs {
		if p := r.Tags["mlflow.parentRunId"]; r.Info.RunID != parent && p != parent {
			t.Errorf("child %s (%s): parent %q, want %q", r.Info.RunID, r.Info.RunName, p, parent)
		}
		if r.Info.Status != "FINISHED" {
			t.Errorf("run %s: %s", r.Info.RunName, r.Info.Status)
		}
	}
}
