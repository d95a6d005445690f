package recipe

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestPretrainWithoutTextEncoder: a pretraining recipe may leave out
// text_encoder (a captioning loss trains the image encoder alone; the run
// asks the loss whether it needs one), but not the loss.
func TestPretrainWithoutTextEncoder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"caption.yaml": "name: c\nimage_encoder: {plugin: resnet}\nloss: {plugin: caption-lstm}\ndata:\n  pretrain: {plugin: chexpert}\n",
		"noloss.yaml":  "name: n\nimage_encoder: {plugin: resnet}\ntext_encoder: {plugin: bert}\ndata:\n  pretrain: {plugin: chexpert}\n",
	})
	r, err := Load(filepath.Join(dir, "caption.yaml"), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatalf("a pretraining recipe without text_encoder: %v", err)
	}
	if r.TextEncoder != nil {
		t.Errorf("TextEncoder = %+v, want nil", r.TextEncoder)
	}
	_, err = Load(filepath.Join(dir, "noloss.yaml"), Options{Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "key loss: is required when data.pretrain is set") {
		t.Errorf("a pretraining recipe without loss: got %v", err)
	}
}

// TestZeroshotNeedsTextEncoder: a zeroshot evaluation encodes class prompts
// with the text encoder; a recipe without one is refused at the protocol
// key, not after pretraining.
func TestZeroshotNeedsTextEncoder(t *testing.T) {
	eval := "evaluate:\n  - name: zs\n    evaluator: {plugin: zeroshot}\n    dataset: {plugin: chexpert}\n    protocol: zeroshot\n    inits: [convirt]\n    prompts: {a: [an a]}\n"
	dir := writeFiles(t, map[string]string{
		"without.yaml": "name: w\nimage_encoder: {plugin: resnet}\n" + eval,
		"with.yaml":    "name: w\nimage_encoder: {plugin: resnet}\ntext_encoder: {plugin: bert}\n" + eval,
	})
	f := filepath.Join(dir, "without.yaml")
	_, err := Load(f, Options{Getenv: env(nil)})
	var ds Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(err.Error(), f+":7: key evaluate.0.protocol: zeroshot compares images with class prompts encoded by the text encoder, and the recipe has no text_encoder") {
		t.Errorf("zeroshot without text_encoder: got %v", err)
	}
	if _, err := Load(filepath.Join(dir, "with.yaml"), Options{Getenv: env(nil)}); err != nil {
		t.Errorf("zeroshot with text_encoder: %v", err)
	}
}
