package contrastivebinary

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// mlp is a two-layer ReLU encoder, x -> relu(x W1 + b1) W2, trained by
// Adam in plain Go from the gradient the loss returns for its outputs.
type mlp struct {
	in, hid, out int
	w1, b1, w2   []float64
	m, v         [][]float64 // Adam's moments of w1, b1, w2
	h            []float64   // hidden activations of the last forward
}

func newMLP(r *rand.Rand, in, hid, out int) *mlp {
	e := &mlp{in: in, hid: hid, out: out, w1: make([]float64, in*hid), b1: make([]float64, hid), w2: make([]float64, hid*out)}
	for i := range e.w1 {
		e.w1[i] = r.NormFloat64() / math.Sqrt(float64(in))
	}
	for i := range e.w2 {
		e.w2[i] = r.NormFloat64() / math.Sqrt(float64(hid))
	}
	for _, p := range [][]float64{e.w1, e.b1, e.w2} {
		e.m, e.v = append(e.m, make([]float64, len(p))), append(e.v, make([]float64, len(p)))
	}
	return e
}

// forward maps the n rows of x to n x out outputs.
func (e *mlp) forward(x []float64, n int) []float64 {
	e.h = make([]float64, n*e.hid)
	y := make([]float64, n*e.out)
	for i := range n {
		for j := range e.hid {
			a := e.b1[j]
			for k := range e.in {
				a += x[i*e.in+k] * e.w1[k*e.hid+j]
			}
			e.h[i*e.hid+j] = math.Max(a, 0)
		}
		for j := range e.out {
			for k := range e.hid {
				y[i*e.out+j] += e.h[i*e.hid+k] * e.w2[k*e.out+j]
			}
		}
	}
	return y
}

// step back-propagates g (dL/dy) through the last forward and takes one
// Adam step t (from 1) of rate lr.
func (e *mlp) step(x, g []float64, n int, t int, lr float64) {
	gw1, gb1, gw2 := make([]float64, len(e.w1)), make([]float64, len(e.b1)), make([]float64, len(e.w2))
	for i := range n {
		for k := range e.hid {
			if e.h[i*e.hid+k] == 0 {
				continue
			}
			dh := 0.0
			for j := range e.out {
				gw2[k*e.out+j] += e.h[i*e.hid+k] * g[i*e.out+j]
				dh += e.w2[k*e.out+j] * g[i*e.out+j]
			}
			gb1[k] += dh
			for q := range e.in {
				gw1[q*e.hid+k] += x[i*e.in+q] * dh
			}
		}
	}
	bc1, bc2 := 1-math.Pow(0.9, float64(t)), 1-math.Pow(0.999, float64(t))
	for p, grads := range [][]float64{gw1, gb1, gw2} {
		params := [][]float64{e.w1, e.b1, e.w2}[p]
		for i, gi := range grads {
			e.m[p][i] = 0.9*e.m[p][i] + 0.1*gi
			e.v[p][i] = 0.999*e.v[p][i] + 0.001*gi*gi
			params[i] -= lr * (e.m[p][i] / bc1) / (math.Sqrt(e.v[p][i]/bc2) + 1e-8)
		}
	}
}

// overfit trains two mlp encoders with the loss of cfg on one batch of n
// pairs (the text side a noisy copy of the image side, both offset from 0
// as image and token features are) and returns the loss before each step.
func overfit(t *testing.T, cfg Config, steps int) []float64 {
	t.Helper()
	const n, in, hid, out = 16, 12, 32, 8
	r := rand.New(rand.NewPCG(11, 12))
	x, y := make([]float64, n*in), make([]float64, n*in)
	for i := range x {
		x[i] = r.NormFloat64() + 1
		y[i] = x[i] + 0.1*r.NormFloat64()
	}
	img, txt := newMLP(r, in, hid, out), newMLP(r, in, hid, out)
	l := mustNew(t, cfg)
	var losses []float64
	for s := 1; s <= steps; s++ {
		res, err := l.Compute(mat(t, tensor.Float64, n, out, img.forward(x, n)), mat(t, tensor.Float64, n, out, txt.forward(y, n)))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, res.Loss)
		gv, _ := res.GradV.Float64s()
		gu, _ := res.GradU.Float64s()
		img.step(x, gv, n, s, 1e-2)
		txt.step(y, gu, n, s, 1e-2)
	}
	return losses
}

// TestDefaultsLearn: a few dozen steps on one overfittable batch take the
// default loss well below its chance value (an untrained model's), on one
// thread with fixed seeds.
func TestDefaultsLearn(t *testing.T) {
	if err := torchrt.SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	losses := overfit(t, cfg, 60)
	chance := cfg.Chance()
	if last := losses[len(losses)-1]; !(last < chance/4) {
		t.Errorf("%+v: loss %.4f after %d steps (first %.4f), want below a quarter of chance %.4f", cfg, last, len(losses), losses[0], chance)
	}
}

// TestCenteredScoresIgnoreCommonShift: with the defaults, adding the same
// amount to every cosine of the batch leaves every logit as it was (the
// shift the plain form's encoders collapsed along), and the logits are
// the centred cosines over tau plus the bias.
func TestCenteredScoresIgnoreCommonShift(t *testing.T) {
	cos := []float64{0.9, 0.2, -0.1, 0.3, 0.8, 0.0, -0.2, 0.1, 0.7}
	var mean float64
	for _, c := range cos {
		mean += c / 9
	}
	scores := func(cfg Config, shift float64) []float64 {
		t.Helper()
		var s torchx.Scope
		defer s.Free()
		c := make([]float64, len(cos))
		for i := range cos {
			c[i] = cos[i] + shift
		}
		ct, err := s.FromCore(mat(t, tensor.Float64, 3, 3, c), false)
		if err != nil {
			t.Fatal(err)
		}
		out, err := mustNew(t, cfg).scores(&s, ct)
		if err != nil {
			t.Fatal(err)
		}
		core, err := s.ToCore(out, tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := core.Float64s()
		return v
	}
	cfg := DefaultConfig()
	base, shifted := scores(cfg, 0), scores(cfg, 0.25)
	for i := range cos {
		if want := (cos[i]-mean)/cfg.Tau + cfg.Bias; math.Abs(base[i]-want) > 1e-12 || math.Abs(shifted[i]-base[i]) > 1e-12 {
			t.Errorf("logit %d: %.15g, shifted %.15g, want %.15g for both", i, base[i], shifted[i], want)
		}
	}
	plain := Config{Tau: 0.1, NegWeight: 1}
	if a, b := scores(plain, 0), scores(plain, 0.25); math.Abs(b[0]-a[0]-2.5) > 1e-12 {
		t.Errorf("plain form: logit moved by %v under a 0.25 shift, want 2.5", b[0]-a[0])
	}
}
