package text

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
)

// writeHFDir writes a tiny Hugging Face BERT directory: config.json,
// vocab.txt and model.safetensors with BertModel names under "bert.".
func writeHFDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."}, strings.Fields("no acute left pleural effusion heart enlarged")...)
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hf := map[string]any{"model_type": "bert", "vocab_size": len(vocab), "hidden_size": 16, "num_hidden_layers": 1,
		"num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32, "type_vocab_size": 2,
		"layer_norm_eps": 1e-12, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
	b, _ := json.Marshal(hf)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := bert.ReadHFConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	err = torchrt.Pin(func() error {
		torchrt.ManualSeed(7)
		vs := nn.NewVarStore(gotch.CPU)
		if _, err := bert.New(vs.Root().Sub("bert"), cfg); err != nil {
			return err
		}
		return safetensors.Save(vs, filepath.Join(dir, "model.safetensors"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func features(t *testing.T, cfg map[string]any) []float32 {
	t.Helper()
	p := New()
	t.Cleanup(func() { p.Close() })
	ctx := context.Background()
	if err := p.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	out, err := p.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{IDs: []string{"a", "b"},
		Texts: []string{"Left pleural effusion.", "No acute heart."}}, Output: sdk.OutputFeatures})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Shape) != 2 || out.Shape[1] != 16 {
		t.Fatalf("features shape %v, want (2,16) from config.json", out.Shape)
	}
	v, err := out.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A Hugging Face directory sets the sizes, the vocabulary and the weights:
// two encoders with different seeds agree once the weights are loaded, and
// differ from a randomly initialised one of the same shape.
func TestPretrainedHuggingFaceDirectory(t *testing.T) {
	dir := writeHFDir(t)
	a := features(t, map[string]any{"pretrained": dir, "seed": 1, "proj_dim": 4})
	b := features(t, map[string]any{"pretrained": dir, "seed": 2, "proj_dim": 4})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two encoders loaded from the same directory differ")
	}
	r := features(t, map[string]any{"vocab": filepath.Join(dir, "vocab.txt"), "size": "tiny", "hidden": 16, "heads": 2, "layers": 1, "seed": 1, "proj_dim": 4})
	if reflect.DeepEqual(a, r) {
		t.Fatal("the pretrained weights were not loaded")
	}
	// A vocabulary that disagrees with config.json is named.
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644)
	if err := New().Configure(context.Background(), map[string]any{"pretrained": dir}); err == nil || !strings.Contains(err.Error(), "vocab_size") {
		t.Fatalf("mismatched vocabulary: %v", err)
	}
}
