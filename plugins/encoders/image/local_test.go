package image

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// images64 is a batch of n random 64 x 64 grey images.
func images64(t *testing.T, n int) *sdk.Batch {
	t.Helper()
	px := make([]float32, n*64*64)
	for i := range px {
		px[i] = float32(math.Sin(float64(i) * 0.37))
	}
	img, err := tensor.FromFloat32([]int64{int64(n), 1, 64, 64}, px)
	if err != nil {
		t.Fatal(err)
	}
	return &sdk.Batch{IDs: make([]string, n), Images: img}
}

func floats(t *testing.T, x *tensor.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNamedOutputsMatchForward: the named projection is Forward's, bit for
// bit, the features are the spatial map's mean over its positions, and a
// ResNet's conv4 map has its stage's channels and resolution; an output
// the network does not serve is refused by name.
func TestNamedOutputsMatchForward(t *testing.T) {
	ctx := context.Background()
	b := images64(t, 3)
	for _, c := range []struct {
		name    string
		cfg     map[string]any
		spatial []int64
		conv4   []int64
	}{
		{SmallCNN, map[string]any{"seed": 1, "proj_dim": 8}, []int64{3, 256, 2, 2}, nil},
		{ResNet, map[string]any{"arch": "resnet18", "in_channels": 1, "seed": 1, "proj_dim": 8}, []int64{3, 512, 2, 2}, []int64{3, 256, 4, 4}},
	} {
		p := configured(t, c.name, c.cfg)
		want, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b})
		if err != nil {
			t.Fatal(err)
		}
		outs := []string{sdk.OutputProjection, sdk.OutputFeatures, sdk.OutputSpatial}
		if c.conv4 != nil {
			outs = append(outs, sdk.OutputConv4)
		}
		got, err := p.ForwardNamed(ctx, sdk.ForwardRequest{Batch: b, Outputs: outs})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[sdk.OutputProjection].Data, want.Data) {
			t.Errorf("%s: named projection differs from Forward's", c.name)
		}
		sp := got[sdk.OutputSpatial]
		if !slices.Equal(sp.Shape, c.spatial) {
			t.Fatalf("%s: spatial shape %v, want %v", c.name, sp.Shape, c.spatial)
		}
		feats, maps := floats(t, got[sdk.OutputFeatures]), floats(t, sp)
		hw := int(sp.Shape[2] * sp.Shape[3])
		for i := range feats {
			mean := 0.0
			for _, v := range maps[i*hw : (i+1)*hw] {
				mean += float64(v)
			}
			if mean /= float64(hw); math.Abs(mean-float64(feats[i])) > 1e-5 {
				t.Fatalf("%s: feature %d is %v, the spatial map's mean %v", c.name, i, feats[i], mean)
			}
		}
		if c.conv4 != nil && !slices.Equal(got[sdk.OutputConv4].Shape, c.conv4) {
			t.Errorf("%s: conv4 shape %v, want %v", c.name, got[sdk.OutputConv4].Shape, c.conv4)
		}
		if _, err := p.ForwardNamed(ctx, sdk.ForwardRequest{Batch: b, Outputs: []string{sdk.OutputTokens}}); err == nil || !strings.Contains(err.Error(), `"tokens"`) {
			t.Errorf("%s: tokens of an image encoder: %v", c.name, err)
		}
	}
}

// TestNamedBackwardMatchesBackward: a training step through the named
// projection's gradient leaves the same weights as the plain step; one
// that also sends a gradient for the spatial map trains differently (the
// map's gradient reaches the network).
func TestNamedBackwardMatchesBackward(t *testing.T) {
	ctx := context.Background()
	b := images(t, 4)
	cfg := map[string]any{"seed": 2, "proj_dim": 4, "lr": 0.01}
	grad := func(shape []int64, scale float32) *tensor.Tensor {
		v := make([]float32, tensor.Numel(shape))
		for i := range v {
			v[i] = scale * float32(i%5-2)
		}
		g, err := tensor.FromFloat32(shape, v)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	step := func(named bool, withSpatial bool) []byte {
		p := configured(t, SmallCNN, cfg)
		g := grad([]int64{4, 4}, 0.1)
		if named {
			got, err := p.ForwardNamed(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true, Outputs: []string{sdk.OutputProjection, sdk.OutputSpatial}})
			if err != nil {
				t.Fatal(err)
			}
			grads := map[string]*tensor.Tensor{sdk.OutputProjection: g}
			if withSpatial {
				grads[sdk.OutputSpatial] = grad(got[sdk.OutputSpatial].Shape, 0.01)
			}
			if err := p.BackwardNamed(ctx, grads); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := p.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true}); err != nil {
				t.Fatal(err)
			}
			if err := p.Backward(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Step(ctx, sdk.StepRequest{}); err != nil {
			t.Fatal(err)
		}
		st, err := p.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	plain, named, local := step(false, false), step(true, false), step(true, true)
	if !bytes.Equal(plain, named) {
		t.Error("a step through the named projection left other weights than the plain step")
	}
	if bytes.Equal(named, local) {
		t.Error("the spatial map's gradient changed nothing")
	}
}
