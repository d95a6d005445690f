package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// demoRun writes a finished demo run under root with results for two inits
// at 1% and 100% and one predictions CSV per cell; degenerate makes the
// random 1% probe's scores constant, as the old probe's were.
func demoRun(t *testing.T, root string, degenerate bool) string {
	t.Helper()
	r, err := runs.Create(root, "demo", runs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cell := func(init string, fraction float64, values ...float64) []results.Entry {
		seeds := make([]uint64, len(values))
		for i := range seeds {
			seeds[i] = uint64(i)
		}
		var out []results.Score
		out = append(out, results.Score{Metric: "auc", Seeds: seeds, Values: values, TestBootstrap: stats.Interval{Lo: 0.5, Hi: 1}})
		for _, l := range []string{"Cardiomegaly", "Pleural Effusion"} {
			out = append(out, results.Score{Metric: "auc:" + l, Seeds: seeds, Values: values, TestBootstrap: stats.Interval{Lo: 0.5, Hi: 1}})
		}
		es, err := results.Cell(results.Entry{Task: "chexpert", Protocol: "linear", Init: init, Fraction: fraction}, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	f := &results.File{}
	f.Entries = append(f.Entries, cell("convirt", 0.01, 0.93, 0.95)...)
	f.Entries = append(f.Entries, cell("convirt", 1, 0.986, 0.986)...)
	f.Entries = append(f.Entries, cell("random", 0.01, 0.80, 0.84)...)
	f.Entries = append(f.Entries, cell("random", 1, 0.967, 0.967)...)
	for _, m := range [][2]any{{"p@10", 0.4}, {"chance", 0.167}} {
		es, err := results.Cell(results.Entry{Task: "chexpert-8x200", Protocol: "retrieval-text", Init: "convirt", Fraction: 1},
			[]results.Score{{Metric: m[0].(string), Seeds: []uint64{0}, Values: []float64{m[1].(float64)}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.Entries = append(f.Entries, es...)
	}
	if err := results.Write(filepath.Join(r.Dir(), "results.json"), f); err != nil {
		t.Fatal(err)
	}
	labels := []string{"Cardiomegaly", "Pleural Effusion", "Edema", "Atelectasis"}
	nan := math.NaN()
	truth := [][]float64{{1, 0, 0, nan}, {0, 1, 0, nan}, {1, 1, 0, nan}}
	for _, c := range []string{"convirt/f0.01", "convirt/f1", "random/f0.01", "random/f1"} {
		scores := [][]float32{{0.9, 0.2, 0.1, 0.3}, {0.1, 0.8, 0.1, 0.3}, {0.7, 0.6, 0.2, 0.3}}
		if degenerate && c == "random/f0.01" {
			scores = [][]float32{{0.5, 0.5, 0.5, 0.5}, {0.5, 0.5, 0.5, 0.5}, {0.5, 0.5, 0.5, 0.5}}
		}
		var b bytes.Buffer
		if err := results.WriteLabelPredictions(&b, []string{"a", "b", "c"}, labels, truth, scores); err != nil {
			t.Fatal(err)
		}
		rel := filepath.Join(runs.PredictionsDir, "probe", "linear", filepath.FromSlash(c), "seed-0.csv")
		if err := r.WriteFileAtomic(rel, b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	return r.Dir()
}

// TestDemoCheckRun runs `convirt demo check` on a finished run: it prints
// the figures as the tables do, the labels of each mean AUC, and fails on a
// probe whose scores are constant, naming the file and the label.
func TestDemoCheckRun(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	demoRun(t, root, false)
	var out, errs bytes.Buffer
	if err := demoCheck(context.Background(), []string{"--runs", root}, &out, &errs); err != nil {
		t.Fatalf("demo check: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"| convirt | 94.0 ± 1.4 | 98.6 ± 0.0 |",
		"| random | 82.0 ± 2.8 | 96.7 ± 0.0 |",
		"mean ± sample standard deviation over the seeds (n = 2)",
		"there the seeds gave identical values",
		"mean AUC of chexpert/random at 1%: over 2 labels: Cardiomegaly, Pleural Effusion",
		"PASS  no degenerate probe: in all 4 prediction files every label with both classes in the test split (Cardiomegaly, Pleural Effusion) gets varying scores; skipped, one class in the test split so no AUC: Edema, Atelectasis",
		"PASS  linear probe, 1% of labels: ConVIRT AUC 94.0 ± 1.4 - random AUC 82.0 ± 2.8 = +12.0 points",
		"| convirt | retrieval-text | – | 40.0 ± 0.0 | – | 16.7 ± 0.0 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	root = filepath.Join(t.TempDir(), "runs")
	dir := demoRun(t, root, true)
	out.Reset()
	err := demoCheck(context.Background(), []string{"--runs", root}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 demo claims failed") {
		t.Errorf("degenerate probe: err %v", err)
	}
	want := "FAIL  no degenerate probe: 1 of 4 prediction files have constant scores:\n      " +
		filepath.Join(runs.PredictionsDir, "probe", "linear", "random", "f0.01", "seed-0.csv") + `: label "Cardiomegaly": all 3 test scores`
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	// A run without predictions cannot be checked.
	if err := os.RemoveAll(filepath.Join(dir, runs.PredictionsDir)); err != nil {
		t.Fatal(err)
	}
	if err := demoCheck(context.Background(), []string{"--runs", root}, &out, &errs); err == nil || !strings.Contains(err.Error(), "no predictions") {
		t.Errorf("no predictions: %v", err)
	}
}
