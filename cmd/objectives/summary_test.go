package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// TestSummary: the children of a sweep become one table row each (sorted
// by objective, fractions in order, mean ± std over seeds) and one plot; a
// sweep whose child has no linear-probe result is an error naming it.
func TestSummary(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	parent, err := runs.Create(root, "demo-objectives", runs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	child := func(loss string, entries []results.Entry) {
		r, err := runs.Create(root, "demo-objectives", runs.Options{ParentID: parent.Meta().ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogParams(map[string]string{"loss.plugin": loss}); err != nil {
			t.Fatal(err)
		}
		if err := results.Write(r.Path(runs.ResultsFile), &results.File{Version: results.Version, Entries: entries}); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(runs.Finished); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(f, mean, std float64) results.Entry {
		return results.Entry{Task: "chexpert", Protocol: "linear", Init: "convirt", Fraction: f, Metric: "auc", Mean: mean, Std: std, Values: []float64{mean}, Seeds: []uint64{0}}
	}
	child("gloria", []results.Entry{entry(1, 0.8, 0.01), entry(0.01, 0.6, 0.02)})
	child("convirt", []results.Entry{entry(0.01, 0.7, 0.03), entry(1, 0.9, 0), {Task: "chexpert", Protocol: "linear", Init: "convirt", Fraction: 1, Metric: "auc:Edema", Mean: 0.1, Values: []float64{0.1}, Seeds: []uint64{0}}})
	if err := parent.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := run(root, "demo-objectives", "", out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "objectives.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := "| objective (chexpert auc, linear probe, 1 seeds) | 1% | 100% |\n|---|---|---|\n" +
		"| convirt | 0.700 ± 0.030 | 0.900 ± 0.000 |\n| gloria | 0.600 ± 0.020 | 0.800 ± 0.010 |\n"
	if string(md) != want {
		t.Errorf("table:\n%s\nwant:\n%s", md, want)
	}
	if st, err := os.Stat(filepath.Join(out, "objectives.png")); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
	child("clip", nil)
	if err := run(root, "demo-objectives", parent.Meta().ID, out); err == nil || !strings.Contains(err.Error(), "loss clip") {
		t.Errorf("a child without results: %v", err)
	}
}
