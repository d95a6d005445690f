package needs

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFiles: the files each built-in encoder's config names, with the
// text encoder's vocabulary and weights defaulting into its pretrained
// folder as the encoder defaults them.
func TestFiles(t *testing.T) {
	got := Files("resnet", map[string]any{"weights": "w/r.safetensors"})
	if len(got) != 1 || got[0].Key != "weights" || got[0].Path != "w/r.safetensors" {
		t.Errorf("resnet: %+v", got)
	}
	got = Files("bert", map[string]any{"pretrained": "w/cb"})
	if len(got) != 3 || got[0].Key != "pretrained" || !got[0].Dir || !reflect.DeepEqual(got[0].Contains, []string{"config.json", "vocab.txt", "model.safetensors"}) || got[1].Path != "" || got[2].Path != "" {
		t.Errorf("bert with pretrained: %+v", got)
	}
	got = Files("bert", map[string]any{"pretrained": "w/cb", "vocab": "v.txt"})
	if !reflect.DeepEqual(got[0].Contains, []string{"config.json", "model.safetensors"}) || got[1].Path != "v.txt" {
		t.Errorf("bert with its own vocab: %+v", got)
	}
	if got := Files("linear", nil); got != nil {
		t.Errorf("an evaluator names files: %+v", got)
	}
}

// TestDataset: a missing root, a root without the reader's index, an index
// whose images are missing, each named; an unknown dataset is not checked.
func TestDataset(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	if known, err := Dataset(ctx, "mine", map[string]any{"root": "x"}); known || err != nil {
		t.Errorf("unknown dataset: %v %v", known, err)
	}
	if _, err := Dataset(ctx, "covidx", map[string]any{"root": "data/COVIDx"}); err == nil || err.Error() != "folder data/COVIDx does not exist" {
		t.Errorf("missing root: %v", err)
	}
	if err := os.MkdirAll("data/COVIDx", 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Dataset(ctx, "covidx", map[string]any{"root": "data/COVIDx", "image_size": 32})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("data/COVIDx", "train.txt")) || !strings.Contains(err.Error(), filepath.Join("data/COVIDx", "test.txt")) {
		t.Errorf("no index: %v", err)
	}
	for _, split := range []string{"train", "test"} {
		if err := os.WriteFile(filepath.Join("data/COVIDx", split+".txt"), []byte("p1 a.png normal\np2 b.png pneumonia\np3 c.png COVID-19\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Dataset(ctx, "covidx", map[string]any{"root": "data/COVIDx"})
	if err == nil || !strings.Contains(err.Error(), `split "train" lists 3 images, and the first,`) || !strings.Contains(err.Error(), "a.png, is missing") {
		t.Errorf("no images: %v", err)
	}
	for _, split := range []string{"train", "test"} {
		if err := os.MkdirAll(filepath.Join("data/COVIDx", split), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("data/COVIDx", split, "a.png"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if known, err := Dataset(ctx, "covidx", map[string]any{"root": "data/COVIDx", "variant": "three-class"}); !known || err != nil {
		t.Errorf("ready: %v %v", known, err)
	}
}

// TestPrecision: the dry run asks the encoders' own rule (autocast.Check):
// fp16 is refused on a CPU with the reason, fp32 runs anywhere, and a
// device that does not parse is an error too.
func TestPrecision(t *testing.T) {
	if err := Precision("cpu", "fp16"); err == nil || !strings.Contains(err.Error(), "needs a CUDA device") {
		t.Errorf("fp16 on cpu: %v", err)
	}
	if err := Precision("cpu", "fp32"); err != nil {
		t.Errorf("fp32 on cpu: %v", err)
	}
	if err := Precision("tpu", "bf16"); err == nil {
		t.Error("device tpu accepted")
	}
}
