package text

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPretrainedPytorchModelBin: a Hugging Face directory that ships
// pytorch_model.bin (as Bio_ClinicalBERT does) instead of model.safetensors
// loads, and gives the same features as the same weights as safetensors.
func TestPretrainedPytorchModelBin(t *testing.T) {
	dir := writeHFDir(t)
	bin := t.TempDir()
	for _, name := range []string{"config.json", "vocab.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `import sys, torch
sys.path.insert(0, sys.argv[1])
from pytorch import load_safetensors
torch.save(load_safetensors(sys.argv[2]), sys.argv[3])`
	lib, err := filepath.Abs("../../models/weights/testdata")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-B", "-c", script, lib, // -B: no __pycache__ in the source tree
		filepath.Join(dir, "model.safetensors"), filepath.Join(bin, "pytorch_model.bin"))
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch.save with Debian's python3-torch (make setup): %v\n%s", err, out)
	}
	want := features(t, map[string]any{"pretrained": dir, "seed": 1, "proj_dim": 4})
	if got := features(t, map[string]any{"pretrained": bin, "seed": 2, "proj_dim": 4}); !reflect.DeepEqual(got, want) {
		t.Fatal("features from pytorch_model.bin differ from those of the same weights as model.safetensors")
	}
}
