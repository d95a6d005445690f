package experiment

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// testPrecisionEncoder is an encoder with an eval_precision key that, as
// the torch encoders do on a CPU, refuses fp16 when it is configured.
const testPrecisionEncoder = "test-precision-encoder"

func init() {
	builtin.RegisterEncoder(testPrecisionEncoder, func() sdk.Encoder { return &precisionEncoder{} })
}

// precisionEncoder is plateauEncoder with eval_precision.
type precisionEncoder struct{ plateauEncoder }

func (e *precisionEncoder) Info(ctx context.Context) (sdk.Info, error) {
	info, err := e.plateauEncoder.Info(ctx)
	info.Name = testPrecisionEncoder
	info.Schema.Fields = append(info.Schema.Fields, schema.Field{Name: recipe.EvalPrecisionKey, Type: schema.String, Default: "fp32", Enum: []string{"fp32", "bf16", "fp16"}})
	return info, err
}

func (e *precisionEncoder) Configure(_ context.Context, cfg map[string]any) error {
	if cfg[recipe.EvalPrecisionKey] == "fp16" {
		return errors.New("eval_precision: precision fp16 needs a CUDA device")
	}
	return nil
}

// precisionRecipe pretrains test-precision-encoder and evaluates it twice
// (EVAL is the first evaluation's extra keys); TEXT is the text encoder's
// config.
const precisionRecipe = `name: p
output: OUT
image_encoder: {plugin: test-precision-encoder, config: IMAGE}
text_encoder: {plugin: test-precision-encoder, config: TEXT}
data:
  pretrain: {plugin: test-pairs}
loss: {plugin: test-pooled-loss}
evaluate:
  - {name: zs, evaluator: {plugin: zeroshot}, dataset: {plugin: test-pairs}, protocol: zeroshot, prompts: {a: [a]}EVAL}
  - {name: ft, evaluator: {plugin: finetune}, dataset: {plugin: test-pairs}, protocol: finetune}
`

// precisionSession is a session over precisionRecipe with its blanks
// filled in.
func precisionSession(t *testing.T, image, text, eval string) (*session, func() string) {
	t.Helper()
	y := strings.NewReplacer("OUT", t.TempDir(), "IMAGE", image, "TEXT", text, "EVAL", eval).Replace(precisionRecipe)
	return pretrainSession(t, y)
}

// TestEvalPrecisionReachesEncoders: evaluate.N.precision is each encoder's
// eval_precision in that evaluation, fine-tuning's included; an encoder's
// own eval_precision wins; the default is fp32; an encoder that declares no
// eval_precision gets none.
func TestEvalPrecisionReachesEncoders(t *testing.T) {
	s, _ := precisionSession(t, "{}", "{eval_precision: fp32}", ", precision: bf16")
	zs, ft := s.r.Evaluate[0], s.r.Evaluate[1]
	if zs.Precision != "bf16" || ft.Precision != recipe.PrecisionFP32 {
		t.Fatalf("precisions %q, %q; want bf16 and the default fp32", zs.Precision, ft.Precision)
	}
	for _, c := range []struct {
		e    recipe.Eval
		ref  recipe.PluginRef
		want string
	}{
		{zs, s.r.ImageEncoder, "bf16"},
		{zs, *s.r.TextEncoder, "fp32"}, // text_encoder.config.eval_precision wins
		{ft, s.r.ImageEncoder, "fp32"},
	} {
		if got := s.evalEncoderConfig(c.e, c.ref, 0, false)[recipe.EvalPrecisionKey]; got != c.want {
			t.Errorf("evaluation %s, encoder config %v: eval_precision %v, want %s", c.e.Name, c.ref.Config, got, c.want)
		}
	}
	er := &evalRun{s: s, e: zs}
	if cfg, err := er.finetuneEncoderConfig("convirt", 10); err != nil || cfg[recipe.EvalPrecisionKey] != "bf16" {
		t.Errorf("fine-tuning's encoder config %v (%v), want eval_precision bf16", cfg, err)
	}
	if cfg := s.encoderConfig(s.r.ImageEncoder.Plugin, s.r.ImageEncoder.Config, 0, false); cfg[recipe.EvalPrecisionKey] != nil {
		t.Errorf("pretraining's encoder config %v has an eval_precision: the evaluations' precision is theirs", cfg)
	}
	plain := recipe.PluginRef{Plugin: testPlateauEncoder}
	if cfg := s.evalEncoderConfig(zs, plain, 0, false); cfg[recipe.EvalPrecisionKey] != nil {
		t.Errorf("an encoder without eval_precision was configured with %v", cfg)
	}
}

// TestEvalPrecisionCheckedBeforePretraining: a precision an evaluation's
// encoder refuses fails the run before pretraining starts anything else,
// naming the key that set it; one it accepts is configured once and
// closed; fp32 starts nothing.
func TestEvalPrecisionCheckedBeforePretraining(t *testing.T) {
	for _, c := range []struct{ image, eval, want string }{
		{"{}", ", precision: fp16", "evaluate.0.precision (evaluation zs) fp16: image_encoder cannot run it: "},
		{"{eval_precision: fp16}", ", precision: bf16", "image_encoder.config.eval_precision fp16: image_encoder cannot run it: "},
	} {
		s, _ := precisionSession(t, c.image, "{}", c.eval)
		_, err := Run(context.Background(), s.r, s.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "precision fp16 needs a CUDA device") {
			t.Errorf("image %s, evaluation %q: Run = %v, want %q and the encoder's reason", c.image, c.eval, err, c.want)
		}
		// The launcher lists the plugins it started and configured: the
		// refused encoder is not among them, and nothing else started.
		if got := started(s); len(got) != 0 {
			t.Errorf("image %s, evaluation %q: started %v before refusing", c.image, c.eval, got)
		}
	}

	s, log := precisionSession(t, "{}", "{}", ", precision: bf16")
	if err := s.checkEvalPrecision(context.Background()); err != nil {
		t.Fatalf("bf16: %v", err)
	}
	if got := started(s); !slices.Equal(got, []string{testPrecisionEncoder}) {
		t.Errorf("bf16: started %v, want the encoders checked", got)
	}
	// Each role of zs once; ft's image encoder runs in fp32.
	for _, line := range []string{"evaluate zs: image_encoder configured with eval_precision bf16", "evaluate zs: text_encoder configured with eval_precision bf16"} {
		if !strings.Contains(log(), line) {
			t.Errorf("log %q lacks %q", log(), line)
		}
	}

	s, log = precisionSession(t, "{}", "{}", "")
	if err := s.checkEvalPrecision(context.Background()); err != nil || len(started(s)) != 0 || log() != "" {
		t.Errorf("fp32: err %v, started %v, log %q; want nothing started", err, started(s), log())
	}
}
