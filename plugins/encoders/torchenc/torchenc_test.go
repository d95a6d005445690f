package torchenc_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func batch(t *testing.T) *sdk.Batch {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, 4*32*32)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	img, err := tensor.FromFloat32([]int64{4, 1, 32, 32}, px)
	if err != nil {
		t.Fatal(err)
	}
	return &sdk.Batch{IDs: []string{"a", "b", "c", "d"}, Images: img}
}

func configured(t *testing.T, cfg map[string]any) *torchenc.Plugin {
	t.Helper()
	p := image.New(image.SmallCNN)
	t.Cleanup(func() { p.Close() })
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

func forward(t *testing.T, p *torchenc.Plugin, b *sdk.Batch, out string) []float32 {
	t.Helper()
	y, err := p.Forward(context.Background(), sdk.ForwardRequest{Batch: b, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	v, err := y.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStateRoundTrip trains one step, moves the state into an encoder built
// from another seed, and checks that both then compute the same thing.
func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := batch(t)
	a := configured(t, map[string]any{"seed": 1, "proj_dim": 8})
	y, err := a.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true})
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float32, y.Numel())
	for i := range g {
		g[i] = 0.1
	}
	gt, _ := tensor.FromFloat32(y.Shape, g)
	if err := a.Backward(ctx, gt); err != nil {
		t.Fatal(err)
	}
	if err := a.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	state, err := a.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(state)
	if err != nil {
		t.Fatal(err)
	}
	var optim int
	for name := range f.Tensors {
		if strings.HasPrefix(name, "optim/") {
			optim++
		}
	}
	if optim == 0 {
		t.Fatal("state holds no optimiser tensors after a step")
	}

	c := configured(t, map[string]any{"seed": 2, "proj_dim": 8})
	if reflect.DeepEqual(forward(t, a, b, ""), forward(t, c, b, "")) {
		t.Fatal("encoders from different seeds agree before SetState; the test proves nothing")
	}
	if err := c.SetState(ctx, state); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(forward(t, a, b, ""), forward(t, c, b, "")) {
		t.Fatal("after SetState the two encoders differ")
	}
	again, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := safetensors.Parse(again)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Tensors, f2.Tensors) || f.Metadata["scalars"] != f2.Metadata["scalars"] {
		t.Fatal("State after SetState differs from the state set")
	}

	// Weights only: the same forward, but a fresh optimiser and schedule.
	w := configured(t, map[string]any{"seed": 2, "proj_dim": 8, "restore_optimizer": false})
	if err := w.SetState(ctx, state); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(forward(t, a, b, ""), forward(t, w, b, "")) {
		t.Fatal("restore_optimizer false: the weights were not restored")
	}
	fresh, err := w.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f3, err := safetensors.Parse(fresh); err != nil || f3.Metadata["scalars"] == f.Metadata["scalars"] {
		t.Fatalf("restore_optimizer false: the optimiser state was restored too (%v)", err)
	}

	other := configured(t, map[string]any{"seed": 1, "proj_dim": 16})
	if err := other.SetState(ctx, state); err == nil || !strings.Contains(err.Error(), "head.linear2") {
		t.Fatalf("state of another head size: err = %v, want one naming the mis-shaped head tensors", err)
	}
}

// TestParseDevice: the device strings, and one clear line when CUDA is asked
// for but absent.
func TestParseDevice(t *testing.T) {
	if d, err := torchenc.ParseDevice("cpu"); err != nil || d != gotch.CPU {
		t.Fatalf("cpu: %v %v", d, err)
	}
	for _, bad := range []string{"gpu", "cuda:x", "cuda:-1"} {
		if _, err := torchenc.ParseDevice(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_, err := torchenc.ParseDevice("cuda")
	switch {
	case gotch.CUDA.IsAvailable():
		if err != nil {
			t.Errorf("cuda with a GPU: %v", err)
		}
	case err == nil || !strings.Contains(err.Error(), `device "cuda" requested but this libtorch has no usable CUDA`):
		t.Errorf("cuda without a GPU: %v", err)
	}
}
