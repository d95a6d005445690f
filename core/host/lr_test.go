package host_test

import (
	"context"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestStepReportsTheLearningRate: an encoder that reports its learning
// rate (sdk.LearningRater) sends it back with each Step over the wire, for
// the host's train/lr metric; before any step there is none.
func TestStepReportsTheLearningRate(t *testing.T) {
	ctx := context.Background()
	enc := startScale(t, nil)
	if err := enc.Configure(ctx, map[string]any{"lr": 0.25}); err != nil {
		t.Fatal(err)
	}
	if lr, ok := enc.LearningRate(); ok {
		t.Fatalf("learning rate %v before any step", lr)
	}
	x := ramp(t, 1, 1, 2, 2)
	if _, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true}); err != nil {
		t.Fatal(err)
	}
	g, _ := tensor.FromFloat32([]int64{1, 1, 2, 2}, []float32{1, 1, 1, 1})
	if err := enc.Backward(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := enc.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	if lr, ok := enc.LearningRate(); !ok || lr != 0.25 {
		t.Fatalf("learning rate %v (%v), want 0.25", lr, ok)
	}
}
