package torchenc_test

import (
	"context"
	"math"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestLearningRateIsTheStepsRate: the rate reported after each Step is the
// one the schedule applied at that step (cosine with 2 warm-up steps: half
// the base, then the base, then decaying).
func TestLearningRateIsTheStepsRate(t *testing.T) {
	ctx := context.Background()
	p := configured(t, map[string]any{"seed": 1, "proj_dim": 8, "lr": 0.01, "schedule": "cosine", "warmup_steps": 2, "total_steps": 6})
	var _ sdk.LearningRater = p
	b := batch(t)
	for i, want := range []float64{0.005, 0.01, 0.01 * 0.5 * (1 + math.Cos(math.Pi/4))} {
		y, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := tensor.FromFloat32(y.Shape, make([]float32, y.Numel()))
		if err := p.Backward(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := p.Step(ctx, sdk.StepRequest{}); err != nil {
			t.Fatal(err)
		}
		if lr, ok := p.LearningRate(); !ok || math.Abs(lr-want) > 1e-12 {
			t.Fatalf("step %d: learning rate %v (%v), want %v", i+1, lr, ok, want)
		}
	}
}
