package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// finetuneRecipe turns the tiny recipe into one that pretrains and then
// fine-tunes the image encoder on the synthetic CheXpert split, for two
// fractions, two seeds and two inits.
func finetuneRecipe(t *testing.T, y string) string {
	t.Helper()
	var dataset string
	for _, line := range strings.Split(y, "\n") {
		if strings.Contains(line, "dataset: {plugin: chexpert,") {
			dataset = strings.TrimSpace(line)
			break
		}
	}
	head, _, ok := strings.Cut(y, "evaluate:")
	if !ok || dataset == "" {
		t.Fatalf("the tiny recipe has no evaluate section with a chexpert dataset:\n%s", y)
	}
	return head + `evaluate:
  - name: ft
    evaluator: {plugin: finetune, config: {bootstrap: 50}}
    ` + dataset + `
    protocol: finetune
    fractions: [0.5, 1.0]
    seeds: 2
    inits: [convirt, random]
    finetune: {epochs: 2, batch_size: 8, lr: 0.001, patience: 1, val_fraction: 0.2}
`
}

func TestFinetuneEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every plugin process and trains")
	}
	path, runsDir := writeTiny(t, func(y string) string { return finetuneRecipe(t, y) })
	dir, _, _ := runOnly(t, runsDir, "run", path)
	f := readResults(t, dir)
	// The test set is the synthetic CheXpert valid split: one CSV row per
	// image, after the header.
	valid, err := os.ReadFile(filepath.Join(filepath.Dir(path), "data", "CheXpert-v1.0-small", "valid.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tests := strings.Count(strings.TrimSpace(string(valid)), "\n")
	seen := map[string]bool{}
	for _, e := range f.Entries {
		if e.Protocol != "finetune" || e.Task != "chexpert" {
			t.Errorf("unexpected entry %+v", e)
			continue
		}
		k := e.Init + "/" + jsonNum(e.Fraction) + "/" + e.Metric
		seen[k] = true
		t.Logf("%s: %.3f +- %.3f %v", k, e.Mean, e.Std, e.Values)
		if len(e.Values) != 2 || len(e.Seeds) != 2 || e.Seeds[0] != 0 || e.Seeds[1] != 1 {
			t.Errorf("%s: seeds %v values %v, want one value per seed 0 and 1", k, e.Seeds, e.Values)
		}
		if lo, hi := e.TestBootstrap95[0], e.TestBootstrap95[1]; !(0 <= lo && lo <= hi && hi <= 1) || e.Mean < 0 || e.Mean > 1 {
			t.Errorf("%s: mean %v, interval [%v, %v]: want an interval inside [0, 1]", k, e.Mean, lo, hi)
		}
	}
	for _, init := range []string{"convirt", "random"} {
		for _, fr := range []string{"0.5", "1"} {
			if !seen[init+"/"+fr+"/auc"] {
				t.Errorf("results.json lacks finetune/%s/%s/auc (has %v)", init, fr, seen)
			}
			for _, seed := range []string{"seed-0", "seed-1"} {
				checkPredictionsCSV(t, filepath.Join(dir, "predictions", "ft", "finetune", init, "f"+fr, seed+".csv"), tests)
			}
			if _, err := os.Stat(filepath.Join(dir, "plots", "roc-ft-finetune-"+init+"-f"+fr+".png")); err != nil {
				t.Errorf("ROC plot: %v", err)
			}
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "logs", "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.HasPrefix(line, "finetune") {
			t.Log(line)
		}
	}
	if !strings.Contains(string(log), "validation loss") || !strings.Contains(string(log), "testing epoch") {
		t.Errorf("run.log does not record the fine-tuning epochs:\n%s", log)
	}
}

// checkPredictionsCSV checks that a probe's predictions CSV has a header and
// one row per test image.
func checkPredictionsCSV(t *testing.T, path string, tests int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Errorf("predictions: %v", err)
		return
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if len(rows) != tests+1 || tests < 10 || rows[0][0] != "id" {
		t.Errorf("%s: %d rows (header %v), want a header and %d test images", path, len(rows), rows[0], tests)
	}
}
