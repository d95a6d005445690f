package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// ref is torch.optim's arithmetic in float64 for one parameter.
type ref struct{ p, m, v []float64 }

func (r *ref) step(cfg Config, g []float64, t int) {
	for i := range r.p {
		gi := g[i]
		if cfg.Name == "adamw" {
			r.p[i] *= 1 - cfg.LR*cfg.WeightDecay
		} else {
			gi += cfg.WeightDecay * r.p[i]
		}
		if cfg.Name == "sgd" {
			r.m[i] = cfg.Momentum*r.m[i] + gi
			step := gi
			if cfg.Momentum != 0 {
				step = r.m[i]
			}
			r.p[i] -= cfg.LR * step
			continue
		}
		r.m[i] = 0.9*r.m[i] + 0.1*gi
		r.v[i] = 0.999*r.v[i] + 0.001*gi*gi
		bc1, bc2 := 1-math.Pow(0.9, float64(t)), 1-math.Pow(0.999, float64(t))
		r.p[i] -= cfg.LR / bc1 * r.m[i] / (math.Sqrt(r.v[i])/math.Sqrt(bc2) + 1e-8)
	}
}

// TestStepMatchesTorchArithmetic runs a few steps of each optimiser on two
// parameters (and a frozen one) with known gradients and compares them with
// torch.optim's update rules computed in float64.
func TestStepMatchesTorchArithmetic(t *testing.T) {
	cases := []Config{
		{Name: "adam", LR: 1e-2, WeightDecay: 1e-2},
		{Name: "adam", LR: 1e-3},
		{Name: "adamw", LR: 1e-2, WeightDecay: 0.1},
		{Name: "sgd", LR: 0.1, WeightDecay: 1e-2, Momentum: 0.9},
		{Name: "sgd", LR: 0.1},
	}
	for _, cfg := range cases {
		err := torchrt.Pin(func() error {
			r := rand.New(rand.NewPCG(1, 2))
			vals := func(n int, scale float64) []float64 {
				x := make([]float64, n)
				for i := range x {
					x[i] = scale * r.NormFloat64()
				}
				return x
			}
			vs := nn.NewVarStore(gotch.CPU)
			shapes := [][]int64{{3, 4}, {5}}
			refs := make([]*ref, len(shapes))
			params := make([]*ts.Tensor, len(shapes))
			for i, shape := range shapes {
				n := int(shape[0])
				if len(shape) == 2 {
					n *= int(shape[1])
				}
				refs[i] = &ref{p: vals(n, 1), m: make([]float64, n), v: make([]float64, n)}
				x := ts.MustOfSlice(f32(refs[i].p)).MustView(shape, true)
				p, err := vs.Root().Add(string(rune('a'+i)), x, true)
				x.MustDrop()
				if err != nil {
					return err
				}
				params[i] = p
			}
			frozen := ts.MustOnes([]int64{2}, gotch.Float, gotch.CPU)
			if _, err := vs.Root().Add("z", frozen, false); err != nil {
				return err
			}
			frozen.MustDrop()
			o, err := New(vs, cfg)
			if err != nil {
				return err
			}
			if got := o.Names(); len(got) != 2 {
				t.Fatalf("%s: trains %v, want the two trainable parameters", cfg.Name, got)
			}
			for step := 1; step <= 4; step++ {
				var loss *ts.Tensor
				for i, p := range params {
					g := vals(len(refs[i].p), math.Pow(10, float64(-step)))
					refs[i].step(cfg, g, step)
					gt := ts.MustOfSlice(f32(g)).MustView(p.MustSize(), true)
					term := p.MustMul(gt, false).MustSum(gotch.Float, true)
					gt.MustDrop()
					if loss == nil {
						loss = term
					} else {
						loss = loss.MustAdd(term, true)
						term.MustDrop()
					}
				}
				if err := loss.Backward(); err != nil {
					return err
				}
				loss.MustDrop()
				if err := o.Step(); err != nil {
					return err
				}
			}
			for i, p := range params {
				got := p.MustView([]int64{-1}, false)
				for j, v := range got.Float64Values() {
					if want := refs[i].p[j]; math.Abs(v-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Errorf("%+v: param %d[%d] = %.7f, want %.7f", cfg, i, j, v, want)
					}
				}
				got.MustDrop()
				g := p.MustGrad(false)
				if s := g.MustAbs(false).MustSum(gotch.Float, true).Float64Values()[0]; s != 0 {
					t.Errorf("%s: gradient not zeroed after Step (|g| sum %v)", cfg.Name, s)
				}
				g.MustDrop()
			}
			if tensors, scalars := o.State(); scalars["steps"] != 4 || (cfg.Name != "sgd" && len(tensors) != 4) {
				t.Errorf("%s: state has %d tensors and steps %v", cfg.Name, len(tensors), scalars["steps"])
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
}

// TestAdamZeroLR sets the learning rate to 0, as a cosine schedule does on
// its last step, and checks that Adam leaves the parameters as they were
// (the scaled denominator of update.go divides by the learning rate: where
// a gradient has been 0, as for the first element here, that is 0 * inf).
func TestAdamZeroLR(t *testing.T) {
	err := torchrt.Pin(func() error {
		vs := nn.NewVarStore(gotch.CPU)
		x := ts.MustOfSlice([]float32{0, -2, 3})
		p, err := vs.Root().Add("w", x, true)
		x.MustDrop()
		if err != nil {
			return err
		}
		o, err := New(vs, Config{Name: "adam", LR: 1e-3})
		if err != nil {
			return err
		}
		o.SetLR(0)
		for range 2 {
			loss := p.MustMul(p, false).MustSum(gotch.Float, true)
			o.ZeroGrad()
			if err := loss.Backward(); err != nil {
				return err
			}
			loss.MustDrop()
			if err := o.Step(); err != nil {
				return err
			}
		}
		if got := p.Float64Values(); got[0] != 0 || got[1] != -2 || got[2] != 3 {
			t.Errorf("parameters after two steps at lr 0: %v, want [0 -2 3]", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// BenchmarkAdamStep times one Adam step (the paper's weight decay) over 16 M
// parameters in 4 tensors on one thread, after a first step has made the
// moments: go test -bench AdamStep. (torch.optim.Adam, same shapes, same
// allocator settings: about 40 ms on the 2-core machine of
// docs/performance.md.)
func BenchmarkAdamStep(b *testing.B) {
	if _, err := torchrt.KeepFreedMemory(); err != nil {
		b.Fatal(err)
	}
	if err := torchrt.SetNumThreads(1); err != nil {
		b.Fatal(err)
	}
	err := torchrt.Pin(func() error {
		vs := nn.NewVarStore(gotch.CPU)
		var loss *ts.Tensor
		for i := range 4 {
			x, err := vs.Root().Zeros(string(rune('a'+i)), []int64{2048, 2048})
			if err != nil {
				return err
			}
			term := x.MustSum(gotch.Float, false)
			if loss == nil {
				loss = term
			} else {
				loss = loss.MustAdd(term, true)
				term.MustDrop()
			}
		}
		loss.MustBackward()
		loss.MustDrop()
		o, err := New(vs, Config{Name: "adam", LR: 1e-4, WeightDecay: 1e-6})
		if err != nil {
			return err
		}
		if err := o.Step(); err != nil {
			return err
		}
		b.ResetTimer()
		for range b.N {
			if err := o.Step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
