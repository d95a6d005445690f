package image

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestMemoryFormat: channels_last computes what contiguous does (to float
// rounding: oneDNN picks other kernels for it), trains, and is one of the
// schema's choices; another value is refused.
func TestMemoryFormat(t *testing.T) {
	for _, f := range Schema(ResNet).Fields {
		if f.Name == "memory_format" && !slices.Equal(f.Enum, []string{"contiguous", "channels_last"}) {
			t.Errorf("memory_format allows %v", f.Enum)
		}
	}
	b := images(t, 4)
	var feats [2][]float32
	for i, format := range []string{"contiguous", "channels_last"} {
		p := configured(t, SmallCNN, map[string]any{"seed": 5, "proj_dim": 8, "threads": 1, "memory_format": format})
		var err error
		if feats[i], err = featuresOf(t, p, b).Float32s(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		y, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Backward(ctx, y); err != nil {
			t.Fatalf("%s: backward: %v", format, err)
		}
		if err := p.Step(ctx, sdk.StepRequest{}); err != nil {
			t.Fatalf("%s: step: %v", format, err)
		}
	}
	var diff, norm float64
	for i, v := range feats[0] {
		diff += math.Abs(float64(feats[1][i] - v))
		norm += math.Abs(float64(v))
	}
	if diff > 1e-5*norm {
		t.Errorf("channels_last features differ from contiguous ones by %g (relative L1)", diff/norm)
	}
	p := New(SmallCNN)
	defer p.Close()
	if err := p.Configure(context.Background(), map[string]any{"memory_format": "nhwc"}); err == nil || !strings.Contains(err.Error(), `memory_format "nhwc"`) {
		t.Errorf("memory_format nhwc: %v", err)
	}
}

// TestPrecisionKeysValidate: the recipe's values for precision,
// eval_precision and memory_format are checked against the derived
// schema, with the key at fault named, before any plugin is configured.
func TestPrecisionKeysValidate(t *testing.T) {
	s := Schema(ResNet)
	ok := map[string]any{"precision": "bf16", "eval_precision": "fp16", "memory_format": "channels_last"}
	if issues := s.Check("image_encoder.config", ok); len(issues) != 0 {
		t.Errorf("valid keys: %v", issues)
	}
	for key, bad := range map[string]any{"precision": "fp8", "eval_precision": "bfloat16", "memory_format": "nhwc"} {
		issues := s.Check("image_encoder.config", map[string]any{key: bad})
		if len(issues) != 1 || !strings.Contains(fmt.Sprint(issues[0]), "image_encoder.config."+key) {
			t.Errorf("%s: %v: issues %v, want one naming the key", key, bad, issues)
		}
	}
	cfg := DefaultConfig(ResNet)
	if cfg.Precision != "fp32" || cfg.EvalPrecision != "fp32" || cfg.MemoryFormat != "contiguous" {
		t.Errorf("defaults: precision %q, eval_precision %q, memory_format %q", cfg.Precision, cfg.EvalPrecision, cfg.MemoryFormat)
	}
}
