package torchenc_test

// eval_precision (what a recipe's evaluate[].precision sets): the forwards
// that do not train run in it, those that train in precision.

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/sdk"
)

// bf16FeatureTol is how far (relative L2) the small CNN's features and
// projections under eval_precision bf16 may be from fp32's: measured
// 0.35% (a batch of 16 images of 64 px), about what bfloat16's 8-bit
// mantissa gives through a few layers.
const bf16FeatureTol = 0.02

// float64s widens v.
func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestEvalPrecisionFeatures: with eval_precision bf16 the features and the
// projection of a forward that does not train are within bf16FeatureTol
// of fp32's, and not equal to them (autocast ran); a training forward of
// the same encoder is fp32's exactly. With precision bf16 and
// eval_precision fp32 it is the other way round.
func TestEvalPrecisionFeatures(t *testing.T) {
	skipWithoutBF16(t)
	ctx := context.Background()
	b := images(t, 16, 64, false)
	base := map[string]any{"seed": 3, "proj_dim": 8, "threads": 1}
	with := func(kv ...string) map[string]any {
		cfg := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			cfg[kv[i]] = kv[i+1]
		}
		return cfg
	}
	ref := configured(t, with())
	evalLow := configured(t, with("eval_precision", autocast.BF16))
	trainLow := configured(t, with("precision", autocast.BF16))
	for _, out := range []string{sdk.OutputFeatures, sdk.OutputProjection} {
		want := forward(t, ref, b, out)
		got := forward(t, evalLow, b, out)
		rel := relL2(float64s(got), float64s(want))
		if rel == 0 || rel > bf16FeatureTol {
			t.Errorf("%s: eval_precision bf16 is %.4f from fp32 (relative L2), want in (0, %g]", out, rel, bf16FeatureTol)
		}
		t.Logf("%s: eval_precision bf16 vs fp32: %.4f", out, rel)
		if got := forward(t, trainLow, b, out); !slices.Equal(got, want) {
			t.Errorf("%s: precision bf16 changed a forward that does not train (eval_precision fp32)", out)
		}
	}
	// Training forwards (after the ones above: they update batch norm's
	// running statistics, which the forwards that do not train read).
	var trained [2][]float32
	for k, p := range []*torchenc.Plugin{ref, evalLow} {
		y, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true})
		if err != nil {
			t.Fatal(err)
		}
		if trained[k], err = y.Float32s(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(trained[0], trained[1]) {
		t.Error("eval_precision bf16 changed a training forward (precision fp32)")
	}
}
