package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/registry"
)

// write makes the file path (and its folders) in the working directory.
func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), mode); err != nil {
		t.Fatal(err)
	}
}

// fakeChecks stand in for the built-ins: resnet reads `weights`, bert a
// `pretrained` folder with config.json and model.safetensors; the dataset
// "rsna" expects ROOT/labels.csv, and other datasets are unknown; CUDA is
// not available; the file system has 1 GiB free.
func fakeChecks(t *testing.T) Checks {
	reg := &registry.Registry{Dir: "plugins", Builtins: registry.Builtins{
		Entries: []builtin.Entry{{Name: "resnet", Kind: sdk.KindEncoder}, {Name: "bert", Kind: sdk.KindEncoder},
			{Name: "linear", Kind: sdk.KindEvaluator}, {Name: "rsna", Kind: sdk.KindDataset}, {Name: "convirt", Kind: sdk.KindLoss}},
		Args: func(name string) []string { return []string{"plugin", "serve", name} },
	}}
	return Checks{
		Registry: reg,
		Files: func(plugin string, cfg map[string]any) []File {
			switch plugin {
			case "resnet":
				w, _ := cfg["weights"].(string)
				return []File{{Key: "weights", Path: w, Fix: "fetch the ImageNet weights"}}
			case "bert":
				p, _ := cfg["pretrained"].(string)
				return []File{{Key: "pretrained", Path: p, Dir: true, Contains: []string{"config.json", "model.safetensors"}, Fix: "fetch Bio_ClinicalBERT"}}
			}
			return nil
		},
		Dataset: func(_ context.Context, plugin string, cfg map[string]any) (bool, error) {
			if plugin != "rsna" {
				return false, nil
			}
			root, _ := cfg["root"].(string)
			_, err := os.Stat(filepath.Join(root, "labels.csv"))
			return true, err
		},
		DatasetFix: func(plugin string) string { return "download " + plugin },
		Device: func(d string) error {
			if d != "cpu" {
				return errors.New("no CUDA")
			}
			return nil
		},
		Precision: func(d, p string) error {
			if p == "fp16" {
				return errors.New("precision fp16 needs a CUDA device")
			}
			return nil
		},
		FreeBytes:         func(string) (uint64, error) { return 1 << 30, nil },
		ResolveCheckpoint: func(store, ref string) (string, error) { return ref, nil },
	}
}

func rsnaEval(name, root, checkpoint string) recipe.Eval {
	return recipe.Eval{Name: name, Evaluator: recipe.PluginRef{Plugin: "linear"},
		Dataset: recipe.PluginRef{Plugin: "rsna", Config: map[string]any{"root": root}},
		Inits:   []string{"convirt", "random"}, Checkpoint: checkpoint}
}

// TestCheckListsEveryProblem: a recipe with relative paths to missing data,
// weights, checkpoint, plugins and a CUDA device gets every problem at once,
// each naming the recipe key and the path and saying what to do; the
// dataset two evaluations share is one problem with both places.
func TestCheckListsEveryProblem(t *testing.T) {
	t.Chdir(t.TempDir())
	write(t, "weights/clinicalbert/config.json", 0o644)
	write(t, "plugins/myloss/bin", 0o644) // installed, not executable
	m, _ := json.Marshal(registry.Manifest{Name: "myloss", Kind: sdk.KindLoss, Binary: "plugins/myloss/bin"})
	write(t, "plugins/myloss/manifest.json", 0o644)
	if err := os.WriteFile("plugins/myloss/manifest.json", m, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recipe.Recipe{Device: "cuda", Output: "runs",
		ImageEncoder: recipe.PluginRef{Plugin: "resnet", Config: map[string]any{"weights": "weights/resnet50.safetensors"}},
		TextEncoder:  &recipe.PluginRef{Plugin: "bert", Config: map[string]any{"pretrained": "weights/clinicalbert"}},
		Loss:         &recipe.PluginRef{Plugin: "myloss"},
		Evaluate: []recipe.Eval{rsnaEval("rsna-linear", "data/rsna", "runs/pretrain/x"), rsnaEval("rsna-finetune", "data/rsna", ""),
			{Name: "other", Evaluator: recipe.PluginRef{Plugin: "nosuch"}, Dataset: recipe.PluginRef{Plugin: "rsna", Config: map[string]any{"root": "data/rsna"}}}},
	}
	c := fakeChecks(t)
	c.MinFreeBytes = 2 << 30
	ps := Check(context.Background(), []*recipe.Recipe{r}, c)
	want := []struct{ where, what, fix string }{
		{"device", "no CUDA", "set device: cpu"},
		{"image_encoder.config.weights", "file weights/resnet50.safetensors does not exist", "ImageNet"},
		{"text_encoder.config.pretrained", "folder weights/clinicalbert lacks model.safetensors", "Bio_ClinicalBERT"},
		{"loss.plugin", "plugins/myloss/bin is not an executable file", "chmod +x"},
		{"evaluate[rsna-linear].dataset.config.root, evaluate[rsna-finetune].dataset.config.root, evaluate[other].dataset.config.root", "dataset rsna: stat data/rsna/labels.csv", "download rsna"},
		{"evaluate[other].evaluator.plugin", `plugin "nosuch" is neither built in nor installed`, "convirt plugin install"},
		{"evaluate[rsna-linear].checkpoint", "runs/pretrain/x is neither a checkpoint file nor a run directory", "latest:EXPERIMENT"},
		{"evaluate[rsna-finetune].checkpoint", "neither pretrains (data.pretrain) nor names a checkpoint", "latest:EXPERIMENT"},
		{"output", "only 1.0 GiB free on the file system of .; a run needs at least 2.0 GiB", "--set output="},
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i := 0; i < len(ps) && i < len(want); i++ {
		p, w := ps[i], want[i]
		if strings.Join(p.Where, ", ") != w.where || !strings.Contains(p.What, w.what) || !strings.Contains(p.Fix, w.fix) {
			t.Errorf("problem %d:\n%s\nwant at %s: ...%s... fix: ...%s...", i, p, w.where, w.what, w.fix)
		}
	}
	if msg := ps.Error(); !strings.HasPrefix(msg, "9 problem(s) before the run can start:\n") || strings.Count(msg, "fix: ") != 9 {
		t.Errorf("error text:\n%s", msg)
	}
}

// TestCheckReady: once the files exist, the same recipe has no problem;
// what the recipe's synthetic corpus will write is not asked for.
func TestCheckReady(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, f := range []string{"weights/resnet50.safetensors", "weights/clinicalbert/config.json", "weights/clinicalbert/model.safetensors",
		"data/rsna/labels.csv", "runs/pretrain/x/checkpoints/step-000000010.ckpt"} {
		write(t, f, 0o644)
	}
	r := &recipe.Recipe{Device: "cpu", Output: "runs/new",
		ImageEncoder: recipe.PluginRef{Plugin: "resnet", Config: map[string]any{"weights": "weights/resnet50.safetensors"}},
		TextEncoder:  &recipe.PluginRef{Plugin: "bert", Config: map[string]any{"pretrained": "weights/clinicalbert"}},
		Evaluate:     []recipe.Eval{rsnaEval("rsna-linear", "data/rsna", "runs/pretrain/x")},
	}
	synth := &recipe.Recipe{Device: "cpu", Output: "runs", Data: recipe.Data{Synth: &recipe.Synth{Root: "data/synth"},
		Pretrain: &recipe.PluginRef{Plugin: "rsna", Config: map[string]any{"root": "data/synth/RSNA"}}},
		ImageEncoder: recipe.PluginRef{Plugin: "resnet", Config: map[string]any{"weights": "./data/synth/w.safetensors"}},
		Evaluate:     []recipe.Eval{rsnaEval("e", "data/synth", "")},
	}
	if ps := Check(context.Background(), []*recipe.Recipe{r, synth}, fakeChecks(t)); len(ps) != 0 {
		t.Errorf("ready recipes: %v", ps)
	}
}

// TestCheckPrecisions: every precision the recipe asks of the encoders, in
// their configs and in each evaluation, is checked against the device, and
// each one the device cannot run is a problem at its key; fp32 and a
// precision the device runs are not. A device that cannot be used at all
// is one problem, not one more per precision.
func TestCheckPrecisions(t *testing.T) {
	t.Chdir(t.TempDir())
	r := &recipe.Recipe{Device: "cpu", Output: "runs",
		ImageEncoder: recipe.PluginRef{Plugin: "smallcnn", Config: map[string]any{"precision": "bf16", "eval_precision": "fp16"}},
		TextEncoder:  &recipe.PluginRef{Plugin: "bert", Config: map[string]any{"precision": "fp16"}},
		Evaluate: []recipe.Eval{{Name: "a", Evaluator: recipe.PluginRef{Plugin: "linear"}, Precision: "fp16"},
			{Name: "b", Evaluator: recipe.PluginRef{Plugin: "linear"}, Precision: "fp32"}},
	}
	var where []string
	for _, p := range Check(context.Background(), []*recipe.Recipe{r}, fakeChecks(t)) {
		if strings.Contains(p.What, "fp16 needs a CUDA device") && strings.Contains(p.Fix, "set it to fp32") {
			where = append(where, p.Where...)
		}
	}
	if want := []string{"image_encoder.config.eval_precision", "text_encoder.config.precision", "evaluate[a].precision"}; !slices.Equal(where, want) {
		t.Errorf("precision problems at %v, want %v", where, want)
	}
	r.Device = "cuda"
	for _, p := range Check(context.Background(), []*recipe.Recipe{r}, fakeChecks(t)) {
		if strings.Contains(p.What, "precision") {
			t.Errorf("a device that cannot be used also gets %v", p)
		}
	}
}

// TestCheckResolvesCheckpoint: the checkpoint reference is resolved in the
// recipe's run store, and a failure to resolve is a problem with a fix.
func TestCheckResolvesCheckpoint(t *testing.T) {
	t.Chdir(t.TempDir())
	write(t, "data/rsna/labels.csv", 0o644)
	write(t, "store/exp/run1/checkpoints/best.ckpt", 0o644)
	c := fakeChecks(t)
	c.ResolveCheckpoint = func(store, ref string) (string, error) {
		if ref == "latest:exp" {
			return filepath.Join(store, "exp", "run1"), nil
		}
		return "", errors.New("no finished run of " + ref)
	}
	r := &recipe.Recipe{Device: "cpu", Output: "store", ImageEncoder: recipe.PluginRef{Plugin: "resnet"},
		Evaluate: []recipe.Eval{rsnaEval("a", "data/rsna", "latest:exp"), rsnaEval("b", "data/rsna", "latest:other")}}
	ps := Check(context.Background(), []*recipe.Recipe{r}, c)
	if len(ps) != 1 || ps[0].Where[0] != "evaluate[b].checkpoint" || ps[0].What != "no finished run of latest:other" || !strings.Contains(ps[0].Fix, "run that pretraining first") {
		t.Errorf("problems: %v", ps)
	}
}

// TestStatfsFree: the real free-space reader answers for the working
// directory and names a folder it cannot read; the disk check then starts
// from the nearest existing folder above a run store not made yet.
func TestStatfsFree(t *testing.T) {
	t.Chdir(t.TempDir())
	if n, err := statfsFree("."); err != nil || n == 0 {
		t.Errorf("statfs .: %d, %v", n, err)
	}
	if _, err := statfsFree("no/such"); err == nil || !strings.Contains(err.Error(), "statfs no/such") {
		t.Errorf("missing folder: %v", err)
	}
	if err := os.MkdirAll("a", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := existingAncestor("a/b/runs"); got != "a" {
		t.Errorf("existingAncestor(a/b/runs) = %q", got)
	}
	if got := existingAncestor("runs"); got != "." {
		t.Errorf("existingAncestor(runs) = %q", got)
	}
}
