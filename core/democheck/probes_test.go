package democheck

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// constRule is a stand-in for the linear evaluator's rule: a label's scores
// are degenerate when they are all equal.
type constRule struct{}

func (constRule) CheckLabels(p *results.LabelPredictions) error {
	for c, l := range p.Labels {
		same := true
		for _, row := range p.Scores[1:] {
			same = same && row[c] == p.Scores[0][c]
		}
		if same {
			return errors.New("constant " + l)
		}
	}
	return nil
}

func (constRule) CheckClasses(*results.ClassPredictions) error { return nil }

// writeRun writes a finished demo run with one linear cell and one
// predictions CSV whose first label's scores are constant if degenerate.
func writeRun(t *testing.T, root string, degenerate bool) runs.Meta {
	t.Helper()
	r, err := runs.Create(root, "demo", runs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &results.File{Entries: []results.Entry{
		entry("linear", "convirt", "auc", 0.01, 0.95), entry("linear", "random", "auc", 0.01, 0.74),
		entry("retrieval-text", "convirt", "p@10", 1, 0.43), entry("retrieval-text", "convirt", "chance", 1, 0.167),
	}}
	if err := results.Write(filepath.Join(r.Dir(), "results.json"), f); err != nil {
		t.Fatal(err)
	}
	scores := [][]float32{{0.9, 0.3}, {0.1, 0.2}, {0.7, 0.4}}
	if degenerate {
		scores = [][]float32{{0.5, 0.3}, {0.5, 0.2}, {0.5, 0.4}}
	}
	var b bytes.Buffer
	nan := math.NaN()
	if err := results.WriteLabelPredictions(&b, []string{"a", "b", "c"}, []string{"Edema", "Atelectasis"},
		[][]float64{{1, nan}, {0, nan}, {1, 1}}, scores); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteFileAtomic(filepath.Join(runs.PredictionsDir, "probe", "seed-0.csv"), b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	m, err := runs.Find(root, filepath.Base(r.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheck checks a run with the rule it is given: which labels rank and
// which are skipped, the PASS and FAIL lines, and the newest run found.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	m := writeRun(t, root, false)
	found, err := FindRun(root, "")
	if err != nil || found.ID != m.ID {
		t.Fatalf("FindRun: %v, %v; want %s", found.ID, err, m.ID)
	}
	var out bytes.Buffer
	if err := Check(m, constRule{}, &out); err != nil {
		t.Fatalf("Check: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"PASS  no degenerate probe: in all 1 prediction files every label with both classes in the test split (Edema) gets varying scores; skipped, one class in the test split so no AUC: Atelectasis",
		"run " + m.ID + " shows the paper's claims",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	m = writeRun(t, t.TempDir(), true)
	out.Reset()
	if err := Check(m, constRule{}, &out); err == nil || !strings.Contains(err.Error(), "1 of 3 demo claims failed") {
		t.Errorf("degenerate probe: err %v", err)
	}
	if want := "FAIL  no degenerate probe: 1 of 1 prediction files have constant scores:\n      " +
		filepath.Join(runs.PredictionsDir, "probe", "seed-0.csv") + ": constant Edema"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if _, err := FindRun(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "no finished demo run") {
		t.Errorf("empty store: %v", err)
	}
}
