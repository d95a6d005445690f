package torchenc_test

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// A bf16 step's gradient must agree with fp32's per tensor, as
// ||g_bf16 - g_fp32|| / ||g_fp32||, to within bf16GradTol plus 1.5 times
// what rounding the input alone to bfloat16 moves fp32's gradient: on the
// small MLP below bf16 moves the head's and second layer's gradients by
// 0.3-0.8%, the first layer's by about 5%, which is what rounding the input
// to bf16 does to fp32's first layer too (ReLUs whose input is near 0 flip).
//
// The MLP, not the small CNN, is the model for this check: the CNN's
// gradient on random data is ill-conditioned (max pooling's choices and
// batch norm's centring), so that in fp32 alone a 0.4% change of the input
// moves its per-tensor gradients by 20-45%, and bf16 moves them by as much;
// TestBF16ForwardAgreesOnTheCNN checks the CNN's forward instead.
const bf16GradTol = 0.02

// mlp is a network of two linear layers with a ReLU between on flattened images.
type mlp struct{ l1, l2 *layers.Linear }

func (m mlp) FeatureDim() int64 { return 32 }

func (m mlp) Features(b *sdk.Batch, _ bool, dev gotch.Device) (*ts.Tensor, error) {
	var s torchx.Scope
	defer s.Free()
	x, err := s.FromCoreOn(b.Images, dev, false)
	if err != nil {
		return nil, err
	}
	if x, err = s.Keep(x.View([]int64{b.Images.Shape[0], -1}, false)); err != nil {
		return nil, err
	}
	h, err := s.Keep(m.l1.Forward(x))
	if err != nil {
		return nil, err
	}
	if h, err = s.Keep(h.Relu(false)); err != nil {
		return nil, err
	}
	return m.l2.Forward(h)
}

func newMLP(t *testing.T, precision string) *torchenc.Encoder {
	t.Helper()
	cfg := torchenc.Defaults()
	cfg.Seed, cfg.ProjDim, cfg.Threads, cfg.Optimizer, cfg.LR, cfg.WeightDecay, cfg.Schedule = 3, 8, 1, "sgd", 1, 0, "none"
	cfg.Precision = precision
	e, err := torchenc.New(cfg, func(_ *nn.VarStore, p *nn.Path) (torchenc.Net, error) {
		l1, err := layers.NewLinear(p.Sub("l1"), 64, 48, nil, false)
		if err != nil {
			return nil, err
		}
		l2, err := layers.NewLinear(p.Sub("l2"), 48, 32, nil, false)
		return mlp{l1, l2}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// weights reads the model tensors of an encoder's state as float64s.
func weights(t *testing.T, e *torchenc.Encoder) map[string][]float64 {
	t.Helper()
	b, err := e.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for name, x := range f.Tensors {
		if !strings.HasPrefix(name, "model/") || x.DType != "F32" {
			continue
		}
		v := make([]float64, x.Numel())
		for i := range v {
			v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(x.Data[4*i:])))
		}
		out[name] = v
	}
	return out
}

// images is n deterministic 1-channel images of side pixels, each pixel
// rounded to bfloat16 when round is set.
func images(t *testing.T, n, side int, round bool) *sdk.Batch {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), uint64(side)))
	px := make([]float32, n*side*side)
	for i := range px {
		px[i] = float32(r.NormFloat64())
		if round {
			px[i] = math.Float32frombits((math.Float32bits(px[i]) + 0x8000) &^ 0xffff)
		}
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	img, err := tensor.FromFloat32([]int64{int64(n), 1, int64(side), int64(side)}, px)
	if err != nil {
		t.Fatal(err)
	}
	return &sdk.Batch{IDs: ids, Images: img}
}

// sgdGradients trains one SGD step with lr 1 and no weight decay, so that
// each trainable weight moves by minus its gradient, and returns the moves.
func sgdGradients(t *testing.T, e *torchenc.Encoder, roundInput bool) map[string][]float64 {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	return sgdStep(t, e, roundInput, func(g []float32) {
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
	})
}

// sgdStep is sgdGradients with the output's gradient filled by fill.
func sgdStep(t *testing.T, e *torchenc.Encoder, roundInput bool, fill func([]float32)) map[string][]float64 {
	t.Helper()
	ctx := context.Background()
	before := weights(t, e)
	y, err := e.Forward(ctx, sdk.ForwardRequest{Batch: images(t, 16, 8, roundInput), Train: true, Graph: true})
	if err != nil {
		t.Fatal(err)
	}
	if y.DType != tensor.Float32 {
		t.Fatalf("output is %v, want float32", y.DType)
	}
	g := make([]float32, y.Numel())
	fill(g)
	gt, err := tensor.FromFloat32(y.Shape, g)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Backward(ctx, gt); err != nil {
		t.Fatal(err)
	}
	if err := e.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	after := weights(t, e)
	moves := map[string][]float64{}
	for name, w0 := range before {
		d := make([]float64, len(w0))
		for i := range d {
			d[i] = w0[i] - after[name][i]
		}
		moves[name] = d
	}
	return moves
}

// relL2 is ||a - b|| / ||b||.
func relL2(a, b []float64) float64 {
	var diff, norm float64
	for i, v := range b {
		diff += (a[i] - v) * (a[i] - v)
		norm += v * v
	}
	return math.Sqrt(diff / norm)
}

func skipWithoutBF16(t *testing.T) {
	if err := autocast.Check(autocast.BF16, gotch.CPU); err != nil {
		t.Skipf("this CPU cannot run bf16 (TestPrecisionRefusals checks the refusal): %v", err)
	}
}

// TestBF16GradientsAgreeWithFP32: one training step of a small MLP and its
// projection head under bf16 autocast moves every weight as fp32's step
// does, to the tolerance above, and not identically (the casts happened).
func TestBF16GradientsAgreeWithFP32(t *testing.T) {
	skipWithoutBF16(t)
	ref := sgdGradients(t, newMLP(t, autocast.FP32), false)
	rounded := sgdGradients(t, newMLP(t, autocast.FP32), true)
	low := sgdGradients(t, newMLP(t, autocast.BF16), false)
	if len(ref) != 8 {
		t.Fatalf("%d weight tensors, want 8 (weight and bias of two linears and the head's two)", len(ref))
	}
	var worst float64
	for name, g := range ref {
		rel, tol := relL2(low[name], g), bf16GradTol+1.5*relL2(rounded[name], g)
		if rel > tol {
			t.Errorf("%s: bf16 gradient is %.4f from fp32's (relative L2), want at most %.4f", name, rel, tol)
		}
		t.Logf("%s: %.4f (tolerance %.4f)", name, rel, tol)
		worst = max(worst, rel)
	}
	if worst == 0 {
		t.Fatal("bf16 gradients equal fp32's exactly: autocast lowered no op")
	}
	t.Logf("largest relative difference %.4f", worst)
}

// TestBF16ForwardAgreesOnTheCNN: the small CNN's training forward (batch
// norm on batch statistics) under bf16 agrees with fp32's to 3%, and the
// output leaving the encoder is fp32.
func TestBF16ForwardAgreesOnTheCNN(t *testing.T) {
	skipWithoutBF16(t)
	var outs [2][]float64
	for k, p := range []string{autocast.FP32, autocast.BF16} {
		e := configured(t, map[string]any{"seed": 3, "proj_dim": 8, "threads": 1, "precision": p})
		y, err := e.Forward(context.Background(), sdk.ForwardRequest{Batch: images(t, 16, 64, false), Train: true})
		if err != nil {
			t.Fatal(err)
		}
		if y.DType != tensor.Float32 {
			t.Fatalf("%s: output is %v, want float32", p, y.DType)
		}
		v, err := y.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			outs[k] = append(outs[k], float64(x))
		}
	}
	if rel := relL2(outs[1], outs[0]); rel > 0.03 || rel == 0 {
		t.Errorf("bf16 forward is %.4f from fp32's (relative L2), want in (0, 0.03]", rel)
	}
}
