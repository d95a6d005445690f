package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
)

// The test binary doubles as convirt: started as `plugin serve NAME` by the
// host, it serves that built-in plugin.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tinyRecipe is the demo at toy scale: a few pairs, a few steps.
const tinyRecipe = `
name: tiny
experiment: e2e
seed: 3
output: RUNS
data:
  synth: {root: DATA, pairs: 48, size: 32, seed: 1}
  pretrain:
    plugin: mimic-cxr
    config: {root: DATA/MIMIC-CXR, image_size: 32, workers: 1}
image_encoder:
  plugin: smallcnn
  config: {proj_dim: 16, proj_hidden: 32, threads: 1}
text_encoder:
  plugin: bert
  config: {size: tiny, layers: 1, hidden: 32, heads: 2, vocab: DATA/vocab.txt, freeze_embeddings: false, freeze_layers: 0, proj_dim: 16, proj_hidden: 32, threads: 1}
loss: {plugin: convirt}
train: {batch_size: 8, epochs: 0, max_steps: 4, lr: 0.001, schedule: {kind: none}, checkpoint_every: 2, text_sampling: report}
evaluate:
  - name: probe
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: linear
    fractions: [0.25, 1.0]
    seeds: 2
    inits: [convirt, random]
  - name: retrieval
    evaluator: {plugin: retrieval, config: {ks: [1, 5]}}
    dataset: {plugin: chexpert-8x200, config: {root: DATA, image_size: 32, workers: 1}}
    protocol: retrieval
    inits: [convirt]
  - name: zeroshot
    evaluator: {plugin: zeroshot}
    dataset: {plugin: chexpert, config: {root: DATA/CheXpert-v1.0-small, image_size: 32, workers: 1}}
    protocol: zeroshot
    inits: [convirt]
    prompts:
      Cardiomegaly: [the heart is enlarged, cardiomegaly]
      Pleural Effusion: [pleural effusion]
`

// writeTiny writes the tiny recipe into a temporary directory and returns
// its path and the run store.
func writeTiny(t *testing.T, edit func(string) string) (path, runsDir string) {
	t.Helper()
	dir := t.TempDir()
	runsDir = filepath.Join(dir, "runs")
	y := strings.NewReplacer("RUNS", runsDir, "DATA", filepath.Join(dir, "data")).Replace(tinyRecipe)
	if edit != nil {
		y = edit(y)
	}
	path = filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, runsDir
}

// runCLI runs convirt in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// onlyRun returns the single run directory under runsDir/experiment.
func runDirs(t *testing.T, runsDir, experiment string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(runsDir, experiment))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(runsDir, experiment, e.Name()))
		}
	}
	return out
}

// runOnly runs the CLI with args, which must succeed and leave the one run
// directory of experiment e2e under runsDir; it returns that directory and
// what the CLI printed.
func runOnly(t *testing.T, runsDir string, args ...string) (dir, stdout, stderr string) {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("convirt %s: exit %d\nstdout:\n%s\nstderr:\n%s", args[0], code, out, errs)
	}
	dirs := runDirs(t, runsDir, "e2e")
	if len(dirs) != 1 {
		t.Fatalf("run directories: %v", dirs)
	}
	return dirs[0], out, errs
}

// readResults reads the results.json of a run directory.
func readResults(t *testing.T, dir string) *results.File {
	t.Helper()
	f, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRunEndToEndAndRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every plugin process and trains")
	}
	path, runsDir := writeTiny(t, nil)
	dir, out, _ := runOnly(t, runsDir, "run", path)
	f := readResults(t, dir)
	want := map[string]bool{}
	for _, init := range []string{"convirt", "random"} {
		for _, fr := range []string{"0.25", "1"} {
			want["linear/"+init+"/"+fr+"/auc"] = false
		}
	}
	want["retrieval-image/convirt/1/p@1"] = false
	want["retrieval-text/convirt/1/p@5"] = false
	want["retrieval-text/convirt/1/chance"] = false
	want["zeroshot/convirt/1/auc"] = false
	for _, e := range f.Entries {
		k := e.Protocol + "/" + e.Init + "/" + strings.TrimSuffix(strings.TrimRight(jsonNum(e.Fraction), "0"), ".") + "/" + e.Metric
		if _, ok := want[k]; ok {
			want[k] = true
		}
		if e.Protocol == "linear" && len(e.Values) != 2 {
			t.Errorf("%s: %d seed values, want 2", k, len(e.Values))
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("results.json lacks %s", k)
		}
	}
	for _, rel := range []string{"report.html", "tables.md", "plots/loss.png", "resolved.yaml",
		"plots/label-efficiency-chexpert-linear-auc.png",
		"predictions/probe/linear/convirt/f0.25/seed-1.csv", "predictions/probe/linear/random/f1/seed-0.csv"} {
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Errorf("run output: %v", err)
		}
	}
	if cks, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.ckpt")); len(cks) == 0 {
		t.Error("no checkpoints written")
	}
	if !strings.Contains(out, "| convirt |") || !strings.Contains(out, "report.html") {
		t.Errorf("the run does not end with the tables and the report path:\n%s", out)
	}

	// --repeat runs the saved recipe again: same resolved recipe, and on a
	// CPU the same numbers.
	code, out, errs := runCLI(t, "run", "--repeat", dir)
	if code != 0 {
		t.Fatalf("convirt run --repeat: exit %d\n%s\n%s", code, out, errs)
	}
	dirs := runDirs(t, runsDir, "e2e")
	if len(dirs) != 2 {
		t.Fatalf("after --repeat: run directories %v", dirs)
	}
	other := dirs[0]
	if other == dir {
		other = dirs[1]
	}
	a, _ := os.ReadFile(filepath.Join(dir, recipe.ResolvedFile))
	b, _ := os.ReadFile(filepath.Join(other, recipe.ResolvedFile))
	body := func(y []byte) []byte { _, rest, _ := bytes.Cut(y, []byte("\n")); return rest } // past the "Resolved from" line
	if !bytes.Equal(body(a), body(b)) || len(body(a)) == 0 {
		t.Errorf("--repeat resolved a different recipe:\n%s\n---\n%s", a, b)
	}
	g, err := results.Read(filepath.Join(other, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Entries) != len(f.Entries) {
		t.Fatalf("repeat has %d entries, first run %d", len(g.Entries), len(f.Entries))
	}
	for i := range f.Entries {
		if d := g.Entries[i].Mean - f.Entries[i].Mean; d > 1e-6 || d < -1e-6 {
			t.Errorf("entry %d (%s/%s/%s): repeat %v, first %v", i, f.Entries[i].Protocol, f.Entries[i].Init, f.Entries[i].Metric, g.Entries[i].Mean, f.Entries[i].Mean)
		}
	}
}

func jsonNum(x float64) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func TestRunRejectsBadPluginConfigBeforeStarting(t *testing.T) {
	path, runsDir := writeTiny(t, func(y string) string {
		return strings.Replace(y, "proj_dim: 16, proj_hidden: 32, threads: 1}\ntext_encoder", "proj_dims: 16, proj_hidden: 32, threads: 1}\ntext_encoder", 1)
	})
	code, _, errs := runCLI(t, "run", path)
	if code == 0 {
		t.Fatal("a misspelt plugin key was accepted")
	}
	if !strings.Contains(errs, "tiny.yaml:") || !strings.Contains(errs, "image_encoder.config.proj_dims") || !strings.Contains(errs, "proj_dim") {
		t.Errorf("error does not name the file, line, key and the closest valid key:\n%s", errs)
	}
	if _, err := os.Stat(runsDir); err == nil {
		t.Error("a run directory was created for an invalid recipe")
	}
}

func TestRunUnknownPlugin(t *testing.T) {
	path, _ := writeTiny(t, func(y string) string { return strings.Replace(y, "plugin: linear", "plugin: lienar", 1) })
	code, _, errs := runCLI(t, "run", path)
	if code == 0 || !strings.Contains(errs, `unknown evaluator plugin "lienar"`) {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}
