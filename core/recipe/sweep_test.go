package recipe

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandSweep(t *testing.T) {
	dir := writeFiles(t, map[string]string{"s.yaml": baseRecipe + `sweep:
  train.lr: [1.0e-4, 1.0e-3]
  seed: [0, 1, 2]
  evaluate.0.fractions: [[0.01], [1.0]]
`})
	r, err := Load(filepath.Join(dir, "s.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	children, err := r.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 12 {
		t.Fatalf("got %d children, want 12", len(children))
	}
	first, last := children[0], children[11]
	if first.Label != "fractions=[0.01],seed=0,lr=0.0001" || last.Label != "fractions=[1],seed=2,lr=0.001" {
		t.Errorf("labels %q ... %q", first.Label, last.Label)
	}
	if children[1].Label != "fractions=[0.01],seed=0,lr=0.001" {
		t.Errorf("last key must vary fastest: %q", children[1].Label)
	}
	c := last.Recipe
	if c.Seed != 2 || c.Train.LR != 1e-3 || !reflect.DeepEqual(c.Evaluate[0].Fractions, []float64{1}) || c.Sweep != nil {
		t.Errorf("child values: seed %d lr %v fractions %v sweep %v", c.Seed, c.Train.LR, c.Evaluate[0].Fractions, c.Sweep)
	}
	if o := c.Origins()["train.lr"]; o.Kind != FromSweep || o.Text != last.Label {
		t.Errorf("child origin %+v", o)
	}
	if r.Train.LR != 1e-4 || r.Sweep == nil {
		t.Error("Expand modified the parent")
	}
	// A sweep alternative that is valid by type but breaks a cross-field rule
	// is reported against the child.
	r2, err := Load(filepath.Join(dir, "s.yaml"), Options{Sets: []string{"sweep.evaluate.0.name=[a]", "sweep.evaluate.5.name=[b]"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Expand(nil); err == nil || !strings.Contains(err.Error(), "no list element \"5\"") {
		t.Errorf("bad sweep path: %v", err)
	}
}

func TestGrid(t *testing.T) {
	e := Eval{Protocol: "linear", Fractions: []float64{0.01, 1}, Inits: []string{"convirt", "random"}, Seeds: Seeds{0, 1, 2}}
	cells := e.Grid()
	if len(cells) != 12 || cells[0].Label() != "fraction=0.01,init=convirt,seed=0" || cells[3] != (Cell{0.01, "random", 0}) || cells[11] != (Cell{1, "random", 2}) {
		t.Errorf("grid: %v", cells)
	}
	e.Protocol = "retrieval"
	if cells := e.Grid(); len(cells) != 2 || cells[1] != (Cell{1, "random", 0}) {
		t.Errorf("retrieval grid: %v", cells)
	}
}

// TestRepeatFromRunDir saves a resolved recipe and loads it back, as
// `convirt run --repeat` does: the resolved recipe must be identical.
func TestRepeatFromRunDir(t *testing.T) {
	sets := []string{"train.lr=0.002", "name=repeat-me", "data.synth.root=/x/$${HOME}", "train.max_minutes=3"}
	r, err := Load("../../recipes/demo.yaml", Options{Sets: sets, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	if err := r.Save(run); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRun(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Tree(), r.Tree()) {
		t.Errorf("trees differ:\n%v\n%v", back.Tree(), r.Tree())
	}
	if !reflect.DeepEqual(back.Overrides, sets) {
		t.Errorf("overrides %q, want %q", back.Overrides, sets)
	}
	a, _ := os.ReadFile(filepath.Join(run, ResolvedFile))
	if err := back.Save(run); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(run, ResolvedFile))
	if !bytes.Equal(a[bytes.IndexByte(a, '\n'):], b[bytes.IndexByte(b, '\n'):]) {
		t.Errorf("saving the reloaded recipe changed resolved.yaml:\n%s\n%s", a, b)
	}
	back.Source, back.Overrides, r.Source, r.Overrides = "", nil, "", nil
	back.tree, back.origins, r.tree, r.origins = nil, nil, nil, nil
	if !reflect.DeepEqual(back, r) {
		t.Errorf("typed recipes differ:\n%+v\n%+v", back, r)
	}
	if r.Train.MaxMinutes != 3 || r.Data.Synth.Root != "/x/${HOME}" {
		t.Errorf("float from int / escaped env: %v %q", r.Train.MaxMinutes, r.Data.Synth.Root)
	}
}

// TestDocsUpToDate fails when docs/recipes.md is not what `convirt recipe
// docs` generates from the current schema.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/recipes.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Markdown() {
		t.Error("docs/recipes.md is stale: run `go run ./cmd/convirt recipe docs`")
	}
	for _, key := range []string{"`train.schedule.kind`", "`evaluate[].fractions`", "`tracking.mlflow.uri`", "~delete"} {
		if !strings.Contains(string(got), key) {
			t.Errorf("docs lack %s", key)
		}
	}
}
