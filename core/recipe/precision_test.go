package recipe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// precisionPlugins knows an encoder with eval_precision ("torch"), one
// without ("plain") and plugins of every other kind with empty schemas.
func precisionPlugins(name string) (schema.Schema, bool) {
	if name == "torch" {
		return schema.Schema{Fields: []schema.Field{{Name: EvalPrecisionKey, Type: schema.String}}}, true
	}
	return schema.Schema{}, true
}

// TestEvalPrecision: evaluate.N.precision defaults to fp32, takes fp32,
// bf16 or fp16, refuses anything else naming the key and its line, and
// refuses a precision other than fp32 when an encoder the evaluation runs
// declares no eval_precision (the text encoder only for the protocols that
// run it).
func TestEvalPrecision(t *testing.T) {
	head := "name: p\nimage_encoder: {plugin: IMAGE}\ntext_encoder: {plugin: TEXT}\nevaluate:\n  - name: e\n    evaluator: {plugin: x}\n    dataset: {plugin: d}\n    protocol: PROTOCOL\n    prompts: {a: [an a]}\n"
	load := func(image, text, protocol, precision string) (*Recipe, error) {
		y := strings.NewReplacer("IMAGE", image, "TEXT", text, "PROTOCOL", protocol).Replace(head)
		if precision != "" {
			y += "    precision: " + precision + "\n"
		}
		dir := writeFiles(t, map[string]string{"r.yaml": y})
		return Load(filepath.Join(dir, "r.yaml"), Options{Getenv: env(nil), Plugins: precisionPlugins})
	}
	r, err := load("torch", "torch", "linear", "")
	if err != nil || r.Evaluate[0].Precision != PrecisionFP32 {
		t.Fatalf("default: %v, precision %q; want fp32", err, r.Evaluate[0].Precision)
	}
	for _, p := range []string{"fp32", "bf16", "fp16"} {
		if r, err := load("torch", "torch", "zeroshot", p); err != nil || r.Evaluate[0].Precision != p {
			t.Errorf("%s: %v", p, err)
		}
	}
	_, err = load("torch", "torch", "linear", "bfloat16")
	if err == nil || !strings.Contains(err.Error(), ":10: key evaluate.0.precision: ") || !strings.Contains(err.Error(), "fp32, bf16, fp16") {
		t.Errorf("bfloat16: %v, want an error at evaluate.0.precision's line naming the values", err)
	}
	for _, c := range []struct{ image, text, protocol, precision, want string }{
		{"plain", "torch", "linear", "bf16", `key evaluate.0.precision: bf16 reaches the encoders as their eval_precision key, which image_encoder plugin "plain" does not declare`},
		{"torch", "plain", "retrieval", "fp16", `text_encoder plugin "plain" does not declare`},
		{"torch", "plain", "zeroshot", "bf16", `text_encoder plugin "plain" does not declare`},
		{"torch", "plain", "linear", "bf16", ""}, // linear runs the image encoder alone
		{"plain", "plain", "linear", "fp32", ""}, // fp32 needs no key
	} {
		_, err := load(c.image, c.text, c.protocol, c.precision)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: Load = %v, want %q", c, err, c.want)
		}
	}
}
