package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// writeFiles writes name -> content into a temp dir and returns the dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

const baseRecipe = `name: base
device: cuda
image_encoder:
  plugin: resnet
  config: {arch: resnet50, proj_dim: 512, weights: /w/r50.bin}
train:
  lr: 1.0e-4
  schedule: {kind: plateau, patience: 5}
evaluate:
  - name: a
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert}
    protocol: linear
`

func TestMergeRules(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b/base.yaml": baseRecipe,
		"b/mid.yaml":  "base: base.yaml\ntrain: {batch_size: 16}\n",
		"child.yaml": `base: [b/mid.yaml]
name: child
image_encoder:
  config:
    arch: resnet18        # scalar replaces, siblings kept
    weights: ~delete      # key removed
train:
  schedule: {patience: 2}
evaluate:                 # list replaces
  - name: b
    evaluator: {plugin: linear}
    dataset: {plugin: rsna, config: {root: "${DATA:-/d}/rsna"}}
    protocol: finetune
`,
	})
	path := filepath.Join(dir, "child.yaml")
	r, err := Load(path, Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "child" || r.Device != "cuda" {
		t.Errorf("scalars: name %q device %q", r.Name, r.Device)
	}
	want := map[string]any{"arch": "resnet18", "proj_dim": 512}
	if !reflect.DeepEqual(r.ImageEncoder.Config, want) {
		t.Errorf("image_encoder.config = %v, want %v", r.ImageEncoder.Config, want)
	}
	if r.Train.BatchSize != 16 || r.Train.LR != 1e-4 || r.Train.Schedule.Kind != "plateau" || r.Train.Schedule.Patience != 2 {
		t.Errorf("train = %+v", r.Train)
	}
	if len(r.Evaluate) != 1 || r.Evaluate[0].Name != "b" || r.Evaluate[0].Dataset.Config["root"] != "/d/rsna" {
		t.Errorf("evaluate = %+v", r.Evaluate)
	}
	if got := r.Evaluate[0].Seeds; !reflect.DeepEqual(got, Seeds{0, 1, 2, 3, 4}) {
		t.Errorf("default seeds = %v", got)
	}
	o := r.Origins()
	checks := map[string]string{
		"name":                        path + ":2",
		"device":                      filepath.Join(dir, "b/base.yaml") + ":2",
		"train.batch_size":            filepath.Join(dir, "b/mid.yaml") + ":2",
		"image_encoder.config.arch":   path + ":5",
		"train.schedule.kind":         filepath.Join(dir, "b/base.yaml") + ":8",
		"train.schedule.warmup_steps": "default",
	}
	for p, w := range checks {
		if got := o[p].String(); got != w {
			t.Errorf("origin of %s = %q, want %q", p, got, w)
		}
	}
	if _, ok := o["image_encoder.config.weights"]; ok {
		t.Error("deleted key still has an origin")
	}
}

func TestEnvAndSets(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yaml": baseRecipe + "data:\n  synth: {root: \"${DATA}/synth\"}\n"})
	sets := []string{
		"train.lr=3e-3", "train.batch_size=8", "tracking.log_text=true",
		"evaluate.0.fractions=0.1,1", "evaluate.0.inits=[convirt,random]",
		"image_encoder.config.proj_dim=128", "train.schedule=~delete",
		"sweep.seed=[1,2]",
	}
	r, err := Load(filepath.Join(dir, "r.yaml"), Options{Sets: sets, Getenv: env(map[string]string{"DATA": "/data"}),
		Plugins: func(name string) (schema.Schema, bool) { return pluginSchemas[name], pluginSchemas[name].Fields != nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Train.LR != 3e-3 || r.Train.BatchSize != 8 || !r.Tracking.LogText || r.Data.Synth.Root != "/data/synth" {
		t.Errorf("sets not applied: %+v %+v", r.Train, r.Tracking)
	}
	if !reflect.DeepEqual(r.Evaluate[0].Fractions, []float64{0.1, 1}) || !reflect.DeepEqual(r.Evaluate[0].Inits, []string{"convirt", "random"}) {
		t.Errorf("list sets: %+v", r.Evaluate[0])
	}
	if r.ImageEncoder.Config["proj_dim"] != 128 {
		t.Errorf("plugin-typed set: %#v", r.ImageEncoder.Config["proj_dim"])
	}
	if r.Train.Schedule.Kind != "plateau" || r.Origins()["train.schedule.patience"].Kind != FromDefault {
		t.Errorf("deleted section should come back with defaults: %+v", r.Train.Schedule)
	}
	if !reflect.DeepEqual(r.Sweep["seed"], []any{1, 2}) {
		t.Errorf("sweep set: %#v", r.Sweep)
	}
	if got := r.Origins()["train.lr"].String(); got != "--set train.lr=3e-3" {
		t.Errorf("origin of a set: %q", got)
	}
}

// pluginSchemas stands in for the schemas plugins report in their Info.
var pluginSchemas = map[string]schema.Schema{
	"resnet": {Fields: []schema.Field{
		{Name: "arch", Type: schema.String, Enum: []string{"resnet18", "resnet50"}},
		{Name: "proj_dim", Type: schema.Int, Min: schema.Ptr(1)},
		{Name: "weights", Type: schema.String},
	}},
	"linear":   {Fields: []schema.Field{{Name: "epochs", Type: schema.Int}}},
	"chexpert": {Fields: []schema.Field{{Name: "root", Type: schema.String}}},
}

func TestEveryErrorClass(t *testing.T) {
	dir := writeFiles(t, map[string]string{"bad.yaml": `name: bad
device: gpu
seed: -1
image_encoder:
  plugin: resnet
  config: {arch: resnet51, projdim: 3}
train:
  lrr: 0.1
  batch_size: "big"
  schedule: {kind: cosin}
evaluate:
  - name: x
    evaluator: {plugin: linaer}
    dataset: {plugin: chexpert}
    protocol: linear
    fractions: [0.5, 2]
    seeds: 0
  - evaluator: {plugin: linear}
    dataset: {plugin: chexpert}
    protocol: linear
data:
  pretrain: {plugin: chexpert}
sweep:
  train.lrr: [1, 2]
  train.lr: 0.1
tracking:
  mlflow: {uri: "${NOPE}"}
`})
	plugins := func(name string) (schema.Schema, bool) { s, ok := pluginSchemas[name]; return s, ok }
	f := filepath.Join(dir, "bad.yaml")
	_, err := Load(f, Options{Plugins: plugins, Getenv: env(nil), Sets: []string{"train.epochs=many", "train.batchsize=3"}})
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("want Diagnostics, got %v", err)
	}
	text := err.Error()
	want := []string{
		f + `:2: key device: value "gpu" does not match cpu|cuda(:[0-9]+)?`,
		f + `:3: key seed: value -1 is out of range >= 0`,
		f + `:6: key image_encoder.config.arch: value "resnet51" is not one of resnet18, resnet50 (did you mean "resnet50"?)`,
		f + `:6: key image_encoder.config.projdim: is not a known key (did you mean "proj_dim"?)`,
		f + `:8: key train.lrr: is not a known key (did you mean "lr"?)`,
		f + `:9: key train.batch_size: expected int, got string "big"`,
		f + `:10: key train.schedule.kind: value "cosin" is not one of plateau, cosine, none (did you mean "cosine"?)`,
		f + `:13: key evaluate.0.evaluator.plugin: unknown evaluator plugin "linaer"`,
		f + `:16: key evaluate.0.fractions.1: value 2 is out of range [0.0001, 1]`,
		f + `:17: key evaluate.0.seeds: a seed count must be an int in [1, 1000], got 0`,
		f + `:18: key evaluate.1.name: is required but missing`,
		f + `: key loss: is required when data.pretrain is set`,
		f + `:24: key sweep.train.lrr: sweeps train.lrr, which is not a known key (did you mean "lr"?)`,
		f + `:25: key sweep.train.lr: expected a non-empty list of alternatives, got float`,
		f + `:27: key tracking.mlflow.uri: environment variable NOPE is not set`,
		`--set train.epochs=many: key train.epochs: "many" is not an int`,
		`--set train.batchsize=3: key train.batchsize: is not a known key (did you mean "batch_size"?)`,
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing diagnostic\n  %s\nin\n%s", w, text)
		}
	}
}

func TestSyntaxErrorsAndBases(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"syntax.yaml":  "name: x\ntrain:\n  lr: [1,\n",
		"loop.yaml":    "base: loop2.yaml\nname: a\n",
		"loop2.yaml":   "base: loop.yaml\n",
		"missing.yaml": "name: a\nbase: nothere.yaml\n",
	})
	cases := map[string]string{
		"syntax.yaml":  "syntax.yaml:3: invalid YAML",
		"loop.yaml":    "base chain loops",
		"missing.yaml": "missing.yaml:2: key base: cannot read base recipe",
	}
	for name, w := range cases {
		_, err := Load(filepath.Join(dir, name), Options{})
		if err == nil || !strings.Contains(err.Error(), w) || (name == "syntax.yaml" && strings.Contains(err.Error(), "required")) {
			t.Errorf("%s: got %v, want %q", name, err, w)
		}
	}
}
