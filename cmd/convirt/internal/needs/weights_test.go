package needs

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/text"
)

// TestPretrainedPytorchModelBin: a Hugging Face folder that ships
// pytorch_model.bin and no model.safetensors (Bio_ClinicalBERT) is what the
// text encoder reads (docs/weights.md), so the preflight asks for that file.
func TestPretrainedPytorchModelBin(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "vocab.txt", "pytorch_model.bin"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := Files(text.Name, map[string]any{"pretrained": dir})
	if len(got) == 0 || !reflect.DeepEqual(got[0].Contains, []string{"config.json", "vocab.txt", "pytorch_model.bin"}) {
		t.Fatalf("files %+v, want the folder to contain config.json, vocab.txt and pytorch_model.bin", got)
	}
}
