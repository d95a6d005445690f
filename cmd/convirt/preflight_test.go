package main

// The tests below check `convirt run --dry-run` and `convirt recipe
// validate --deep` against recipes they write, with relative paths to
// missing data, weights and checkpoints, and the paper recipes against the
// data layout the README documents (the synthetic corpus writes it).

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/cmd/convirt/internal/needs"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

const missingRecipe = `name: missing
experiment: missing
device: DEVICE
output: runs
data:
  pretrain: {plugin: mimic-cxr, config: {root: data/MIMIC-CXR, image_size: 32}}
image_encoder: {plugin: resnet, config: {weights: weights/resnet.safetensors}}
text_encoder: {plugin: bert, config: {size: tiny, vocab: data/vocab.txt}}
loss: {plugin: convirt}
evaluate:
  - name: chexpert-linear
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert, config: {root: data/CheXpert-v1.0-small, image_size: 32}}
    protocol: linear
    inits: [convirt]
    checkpoint: latest:pretrain
  - name: chexpert-finetune
    evaluator: {plugin: finetune}
    dataset: {plugin: chexpert, config: {root: data/CheXpert-v1.0-small, image_size: 32}}
    protocol: finetune
    inits: [convirt]
`

// TestDryRunListsEveryProblem: on a recipe whose data, weights, vocabulary
// and pretraining run are all missing (relative paths, from the working
// directory), `run --dry-run` and `recipe validate --deep` fail listing
// every problem at once, each with its fix, and both list the same ones.
func TestDryRunListsEveryProblem(t *testing.T) {
	t.Chdir(t.TempDir())
	device := "cpu"
	if needs.Device("cuda") != nil {
		device = "cuda" // this libtorch has no CUDA: asking for it is a problem too
	}
	if err := os.WriteFile("missing.yaml", []byte(strings.Replace(missingRecipe, "DEVICE", device, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("data/CheXpert-v1.0-small", 0o755); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"data.pretrain.config.root: dataset mimic-cxr: folder data/MIMIC-CXR does not exist\n    fix: get MIMIC-CXR-JPG 2.0.0 and the MIMIC-CXR reports (PhysioNet, credentialed access), in $CONVIRT_DATA/MIMIC-CXR",
		"image_encoder.config.weights: file weights/resnet.safetensors does not exist\n    fix: fetch torchvision's ImageNet ResNet-50",
		"text_encoder.config.vocab: file data/vocab.txt does not exist\n    fix: write the vocabulary there",
		"evaluate[chexpert-linear].dataset.config.root, evaluate[chexpert-finetune].dataset.config.root: dataset chexpert: chexpert: open " + filepath.Join("data/CheXpert-v1.0-small", "train.csv"),
		`evaluate[chexpert-linear].checkpoint: checkpoint "latest:pretrain": no finished run of experiment "pretrain" in the run store runs/pretrain`,
	}
	if device == "cuda" {
		want = append(want, "device: device \"cuda\" requested but this libtorch has no usable CUDA")
	}
	for _, args := range [][]string{{"run", "--dry-run", "missing.yaml"}, {"recipe", "validate", "--deep", "missing.yaml"}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1\n%s", args, code, errs)
		}
		for _, w := range want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, w, errs)
			}
		}
		if n := strings.Count(errs, "    fix: "); n != len(want) {
			t.Errorf("%v: %d problems, want %d:\n%s", args, n, len(want), errs)
		}
		if _, err := os.Stat("runs"); err == nil {
			t.Fatalf("%v created the run store", args)
		}
	}
	// Without --deep, validate checks the recipe alone.
	if code, out, errs := runCLI(t, "recipe", "validate", "missing.yaml"); code != 0 || !strings.Contains(out, "missing.yaml: ok") {
		t.Errorf("validate without --deep: exit %d\n%s%s", code, out, errs)
	}
}

// TestPaperRecipesFindTheDocumentedLayout: with CONVIRT_DATA (relative)
// holding the datasets in the documented layout, the one the synthetic
// corpus writes, every dataset of the pretraining and Table 1 recipes is
// found: the only problems left are the weights, the device and the
// pretraining runs not made yet.
func TestPaperRecipesFindTheDocumentedLayout(t *testing.T) {
	recipes, err := filepath.Abs("../../recipes/paper")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := synth.Write(context.Background(), "data", synth.Config{Studies: 10, Seed: 1, Size: 16, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONVIRT_DATA", "data")
	t.Setenv("CONVIRT_WEIGHTS", "weights")
	for _, name := range []string{"pretrain-mimic.yaml", "table1.yaml"} {
		code, _, errs := runCLI(t, "recipe", "validate", "--deep", filepath.Join(recipes, name))
		if code != 1 || !strings.Contains(errs, "weights/resnet50-imagenet.safetensors does not exist") {
			t.Errorf("%s: exit %d, want the missing weights listed:\n%s", name, code, errs)
		}
		if strings.Contains(errs, "dataset ") {
			t.Errorf("%s: a dataset of the documented layout is not found:\n%s", name, errs)
		}
		if name == "table1.yaml" {
			for _, exp := range []string{"pretrain-mimic", "pretrain-bone"} {
				if !strings.Contains(errs, `checkpoint "latest:`+exp+`": no finished run of experiment "`+exp+`"`) {
					t.Errorf("table1: the missing %s run is not listed:\n%s", exp, errs)
				}
			}
		}
	}
}
