package main

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestMain lets the test binary serve the plugin when a host (here
// sdktest.Start) starts it, so the tests below can talk to it across a real
// process boundary: sdktest.Main serves it whatever name it is asked for,
// as the binary has one plugin.
func TestMain(m *testing.M) {
	sdktest.Main(func(string) error { return serve() })
	os.Exit(m.Run())
}

var ctx = context.Background()

// images returns a random (n,c,h,w) batch.
func images(t *testing.T, rng *rand.Rand, n, c, h, w int) *tensor.Tensor {
	t.Helper()
	v := make([]float32, n*c*h*w)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	x, err := tensor.FromFloat32([]int64{int64(n), int64(c), int64(h), int64(w)}, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func configured(t *testing.T, cfg map[string]any) *Encoder {
	t.Helper()
	e := &Encoder{}
	if err := e.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPoolAveragesCellsAndChannels(t *testing.T) {
	// One 2-channel 4x4 image; channel 1 is channel 0 plus 10.
	v := make([]float32, 2*4*4)
	for i := range 16 {
		v[i], v[16+i] = float32(i), float32(i)+10
	}
	x, _ := tensor.FromFloat32([]int64{1, 2, 4, 4}, v)
	got, n, err := pool(x, 2)
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	// Top-left cell holds 0,1,4,5 (mean 2.5), +5 for the channel mean.
	want := []float32{7.5, 9.5, 15.5, 17.5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pool = %v, want %v", got, want)
		}
	}
	// A grid finer than the image still gives every cell a pixel.
	small, _ := tensor.FromFloat32([]int64{1, 1, 3, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	if got, _, err := pool(small, 4); err != nil || len(got) != 16 || got[0] != 1 || got[15] != 9 {
		t.Fatalf("pool 3x3 to 4x4 = %v, %v", got, err)
	}
	for _, bad := range []*tensor.Tensor{nil, {DType: tensor.Float32, Shape: []int64{2, 3}, Data: make([]byte, 24)}} {
		if _, _, err := pool(bad, 2); err == nil {
			t.Errorf("pool(%v) accepted", bad)
		}
	}
}

// loss is L = sum(out * c) for fixed c, so dL/dout = c.
func lossOf(t *testing.T, e *Encoder, x *tensor.Tensor, output string, c []float32) float64 {
	t.Helper()
	out, err := e.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Output: output})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := out.Float32s()
	var l float64
	for i := range v {
		l += float64(v[i]) * float64(c[i])
	}
	return l
}

// Backward's gradients match finite differences of the forward, for both
// outputs.
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	for _, output := range []string{sdk.OutputProjection, sdk.OutputFeatures} {
		t.Run(output, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			e := configured(t, map[string]any{"grid": 2, "features": 5, "proj_dim": 3, "seed": 7})
			x := images(t, rng, 4, 1, 6, 6)
			out, err := e.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true, Train: true, Output: output})
			if err != nil {
				t.Fatal(err)
			}
			c := make([]float32, out.Numel())
			for i := range c {
				c[i] = float32(rng.NormFloat64())
			}
			g, _ := tensor.FromFloat32(out.Shape, c)
			if err := e.Backward(ctx, g); err != nil {
				t.Fatal(err)
			}
			params := map[string][2][]float32{"W1": {e.m.W1, e.g.W1}, "B1": {e.m.B1, e.g.B1}, "W2": {e.m.W2, e.g.W2}, "B2": {e.m.B2, e.g.B2}}
			for name, pg := range params {
				p, grad := pg[0], pg[1]
				for i := range p {
					const h = 1e-2
					old := p[i]
					p[i] = old + h
					up := lossOf(t, e, x, output, c)
					p[i] = old - h
					down := lossOf(t, e, x, output, c)
					p[i] = old
					num := (up - down) / (2 * h)
					if math.Abs(num-float64(grad[i])) > 2e-2*math.Max(1, math.Abs(num)) {
						t.Errorf("%s[%d]: backward %v, finite difference %v", name, i, grad[i], num)
					}
				}
			}
			if output == sdk.OutputFeatures {
				for i, v := range e.g.W2 {
					if v != 0 {
						t.Fatalf("W2 gradient %d = %v from a features-only backward", i, v)
					}
				}
			}
		})
	}
}

// SGD steps on L = sum(z*c) lower it; gradients accumulate across
// backwards and Step zeroes them.
func TestStepDescends(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	e := configured(t, map[string]any{"grid": 4, "features": 8, "proj_dim": 4, "lr": 0.01})
	x := images(t, rng, 8, 1, 8, 8)
	c := make([]float32, 8*4)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	g, _ := tensor.FromFloat32([]int64{8, 4}, c)
	first := lossOf(t, e, x, "", c)
	for range 20 {
		for range 2 { // two accumulated chunks, as GradCache does
			if _, err := e.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true}); err != nil {
				t.Fatal(err)
			}
			if err := e.Backward(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Step(ctx, sdk.StepRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if last := lossOf(t, e, x, "", c); last >= first-1 {
		t.Fatalf("loss %v -> %v after 20 steps", first, last)
	}
	for _, v := range e.g.W1 {
		if v != 0 {
			t.Fatal("Step left gradients")
		}
	}
	if err := e.Backward(ctx, g); err == nil || !strings.Contains(err.Error(), "without a forward") {
		t.Fatalf("Backward without a graph forward: %v", err)
	}
}

func TestStateRoundTripAndSeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := images(t, rng, 3, 3, 10, 10)
	cfg := map[string]any{"grid": 3, "features": 6, "proj_dim": 4, "seed": 11, "lr": 0.1}
	a := configured(t, cfg)
	half := make([]float32, 12)
	for i := range half {
		half[i] = 0.5
	}
	g, _ := tensor.FromFloat32([]int64{3, 4}, half)
	a.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true})
	if err := a.Backward(ctx, g); err != nil {
		t.Fatal(err)
	}
	a.Step(ctx, sdk.StepRequest{})
	st, err := a.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := configured(t, cfg)
	c := []float32{1, -1, 2, 0.5, 3, -2, 1, 1, 1, 1, 1, 1}
	if lossOf(t, a, x, "", c) == lossOf(t, b, x, "", c) {
		t.Fatal("a step changed nothing")
	}
	if err := b.SetState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if la, lb := lossOf(t, a, x, "", c), lossOf(t, b, x, "", c); la != lb || b.steps != 1 {
		t.Fatalf("after SetState: %v vs %v, steps %d", la, lb, b.steps)
	}
	// The same seed gives the same weights, another seed others.
	same, other := configured(t, cfg), configured(t, map[string]any{"grid": 3, "features": 6, "proj_dim": 4, "seed": 12})
	if lossOf(t, same, x, "", c) != lossOf(t, configured(t, cfg), x, "", c) || lossOf(t, same, x, "", c) == lossOf(t, other, x, "", c) {
		t.Fatal("initialisation is not a function of the seed")
	}
	// A state of another shape is refused, naming both.
	if err := other.SetState(ctx, st); err != nil {
		t.Fatalf("same shape, other seed: %v", err)
	}
	wide := configured(t, map[string]any{"grid": 3, "features": 7, "proj_dim": 4})
	if err := wide.SetState(ctx, st); err == nil || !strings.Contains(err.Error(), "features 6") || !strings.Contains(err.Error(), "3, 7, 4") {
		t.Fatalf("SetState of another shape: %v", err)
	}
	if err := wide.SetState(ctx, []byte(`{"format":"other"}`)); err == nil {
		t.Fatal("a foreign state was accepted")
	}
}

func TestConfigAndInfo(t *testing.T) {
	info, err := (&Encoder{}).Info(ctx)
	if err != nil || info.Name != Name || info.Version != Version || len(info.Schema.Fields) != 6 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if issues := info.Schema.Check("config", map[string]any{"grid": 0.0}); len(issues) == 0 {
		t.Error("the schema accepts grid 0")
	}
	if err := (&Encoder{}).Configure(ctx, map[string]any{"gird": 4}); err == nil || !strings.Contains(err.Error(), "gird") {
		t.Errorf("unknown key: %v", err)
	}
	e := configured(t, nil)
	if e.cfg != defaults {
		t.Errorf("config %+v, want the defaults %+v", e.cfg, defaults)
	}
	for _, f := range info.Schema.Fields {
		if f.Default == nil {
			t.Errorf("field %s has no default", f.Name)
		}
	}
	if _, err := e.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{}, Output: "logits"}); err == nil {
		t.Error("unknown output accepted")
	}
	if _, err := (&Encoder{}).Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{}}); err == nil {
		t.Error("forward before Configure accepted")
	}
}

// The plugin served in its own process, as a host starts it, with only
// the SDK (sdktest): handshake, Info, Configure, a training step and State
// across the process boundary. cmd/convirt's tests install and run the
// built binary under the real host.
func TestServedOverTheWire(t *testing.T) {
	enc := sdktest.Start(t, Name, sdk.KindEncoder).(sdk.Encoder)
	if info, err := enc.Info(ctx); err != nil || info.Kind != sdk.KindEncoder || info.Version != Version {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := enc.Configure(ctx, map[string]any{"proj_dim": 8.0, "features": 16.0}); err != nil {
		t.Fatal(err)
	}
	x := images(t, rand.New(rand.NewPCG(7, 8)), 2, 1, 16, 16)
	for _, out := range []struct {
		name string
		dim  int64
	}{{sdk.OutputProjection, 8}, {sdk.OutputFeatures, 16}} {
		y, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true, Output: out.name})
		if err != nil || len(y.Shape) != 2 || y.Shape[0] != 2 || y.Shape[1] != out.dim {
			t.Fatalf("Forward %s = %v, %v", out.name, y, err)
		}
		if err := enc.Backward(ctx, y); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	if st, err := enc.State(ctx); err != nil || !strings.Contains(string(st), `"steps":1`) {
		t.Fatalf("State = %.80s, %v", st, err)
	}
}
