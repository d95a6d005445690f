package clip

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func mat(rows, cols int, vals []float64) *tensor.Tensor {
	m, err := tensor.FromFloat64s(tensor.Float64, []int64{int64(rows), int64(cols)}, vals)
	if err != nil {
		panic(err) // a test-table mistake: rows*cols != len(vals)
	}
	return m
}

func randVals(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func newLoss(t *testing.T, mod func(*Config)) *Loss {
	t.Helper()
	c := DefaultConfig()
	if mod != nil {
		mod(&c)
	}
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// reference computes the loss in plain Go.
func reference(v, u []float64, n, d int, logScale, lambda float64) float64 {
	norm := func(x []float64) []float64 {
		y := make([]float64, len(x))
		for i := 0; i < n; i++ {
			var s float64
			for k := 0; k < d; k++ {
				s += x[i*d+k] * x[i*d+k]
			}
			s = math.Sqrt(s)
			for k := 0; k < d; k++ {
				y[i*d+k] = x[i*d+k] / s
			}
		}
		return y
	}
	vn, un := norm(v), norm(u)
	S := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < d; k++ {
				S[i*n+j] += vn[i*d+k] * un[j*d+k]
			}
			S[i*n+j] *= math.Exp(logScale)
		}
	}
	var total float64
	for i := 0; i < n; i++ {
		var rs, cs float64
		for j := 0; j < n; j++ {
			rs += math.Exp(S[i*n+j])
			cs += math.Exp(S[j*n+i])
		}
		total += lambda*(math.Log(rs)-S[i*n+i]) + (1-lambda)*(math.Log(cs)-S[i*n+i])
	}
	return total / float64(n)
}

func TestLossMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	v, u := randVals(r, 12), randVals(r, 12)
	l := newLoss(t, nil)
	res, err := l.Compute(mat(4, 3, v), mat(4, 3, u))
	if err != nil {
		t.Fatal(err)
	}
	want := reference(v, u, 4, 3, math.Log(1/0.07), 0.5)
	if math.Abs(res.Loss-want) > 1e-10 {
		t.Errorf("loss %v, want %v", res.Loss, want)
	}
	if got := res.Metrics[MetricLogitScale]; math.Abs(got-1/0.07) > 1e-9 {
		t.Errorf("logit scale %v, want %v", got, 1/0.07)
	}
}

func TestGradientsFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const n, d, s0 = 4, 3, 1.7
	v, u := randVals(r, n*d), randVals(r, n*d)
	at := func(s float64) *Loss { return newLoss(t, func(c *Config) { c.InitLogScale = s }) }
	res, err := at(s0).Compute(mat(n, d, v), mat(n, d, u))
	if err != nil {
		t.Fatal(err)
	}
	loss := func(s float64) float64 {
		r, err := at(s).Compute(mat(n, d, v), mat(n, d, u))
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	const h = 1e-6
	check := func(name string, got, fd float64) {
		if math.Abs(fd-got) > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Errorf("%s: grad %.9g, finite difference %.9g", name, got, fd)
		}
	}
	check("logit_scale", res.GradLogScale, (loss(s0+h)-loss(s0-h))/(2*h))
	for which, g := range []*tensor.Tensor{res.GradV, res.GradU} {
		gv, err := g.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		x := [][]float64{v, u}[which]
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := loss(s0)
			x[i] = old - h
			lm := loss(s0)
			x[i] = old
			check([]string{"v", "u"}[which], gv[i], (lp-lm)/(2*h))
		}
	}
}

func TestStep(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	v, u := mat(4, 3, randVals(r, 12)), mat(4, 3, randVals(r, 12))

	sgd := newLoss(t, func(c *Config) { c.Optimizer, c.LR = OptimizerSGD, 0.01 })
	s0 := sgd.LogScale()
	a, err := sgd.Compute(v, u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sgd.Compute(v, u) // gradients accumulate until Step
	if err != nil {
		t.Fatal(err)
	}
	if err := sgd.Step(); err != nil {
		t.Fatal(err)
	}
	if want := s0 - 0.01*(a.GradLogScale+b.GradLogScale); math.Abs(sgd.LogScale()-want) > 1e-15 {
		t.Errorf("sgd: s = %v, want %v", sgd.LogScale(), want)
	}
	if err := sgd.Step(); err != nil || math.Abs(sgd.LogScale()-s0+0.01*(a.GradLogScale+b.GradLogScale)) > 1e-15 {
		t.Errorf("step without a new gradient moved s (err %v)", err)
	}

	// Adam's first step moves by lr in the direction of -sign(g).
	adam := newLoss(t, func(c *Config) { c.LR = 0.05 })
	g, err := adam.Compute(v, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := adam.Step(); err != nil {
		t.Fatal(err)
	}
	if want := s0 - 0.05*math.Copysign(1, g.GradLogScale); math.Abs(adam.LogScale()-want) > 1e-6 {
		t.Errorf("adam: s = %v, want %v", adam.LogScale(), want)
	}

	fixed := newLoss(t, func(c *Config) { c.Learnable = false })
	if _, err := fixed.Compute(v, u); err != nil {
		t.Fatal(err)
	}
	if err := fixed.Step(); err != nil || fixed.LogScale() != s0 {
		t.Errorf("fixed scale moved to %v (err %v)", fixed.LogScale(), err)
	}
}

func TestClamp(t *testing.T) {
	// Identical pairs: raising the scale lowers the loss, so g < 0 and a large
	// SGD step pushes s past log(100), where it must stop.
	x := mat(3, 2, []float64{1, 0, 0, 1, 1, 1})
	l := newLoss(t, func(c *Config) { c.Optimizer, c.LR, c.InitLogScale = OptimizerSGD, 1e3, 1 })
	res, err := l.Compute(x, x)
	if err != nil {
		t.Fatal(err)
	}
	if res.GradLogScale >= 0 {
		t.Fatalf("expected a negative gradient, got %v", res.GradLogScale)
	}
	if err := l.Step(); err != nil {
		t.Fatal(err)
	}
	if l.LogScale() != math.Log(100) {
		t.Errorf("s = %v, want the cap %v", l.LogScale(), math.Log(100))
	}
	if over := newLoss(t, func(c *Config) { c.InitLogScale = 10 }); over.LogScale() != math.Log(100) {
		t.Errorf("initial s not clamped: %v", over.LogScale())
	}
}

func TestStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	v, u := mat(4, 3, randVals(r, 12)), mat(4, 3, randVals(r, 12))
	run := func(l *Loss, steps int) {
		for i := 0; i < steps; i++ {
			if _, err := l.Compute(v, u); err != nil {
				t.Fatal(err)
			}
			if err := l.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := func(c *Config) { c.LR = 0.01 }
	a := newLoss(t, cfg)
	run(a, 3)
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	b := newLoss(t, cfg)
	if err := b.SetState(st); err != nil {
		t.Fatal(err)
	}
	run(a, 2)
	run(b, 2)
	if a.LogScale() != b.LogScale() {
		t.Errorf("resumed s %v, uninterrupted %v", b.LogScale(), a.LogScale())
	}
	for _, bad := range []string{`{`, `{"version":2}`, `{"version":1,"logit_scale":9}`, `{"version":1,"adam_v":-1}`} {
		if err := b.SetState([]byte(bad)); err == nil {
			t.Errorf("SetState(%s) accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"lambda":    func(c *Config) { c.Lambda = -0.1 },
		"optimizer": func(c *Config) { c.Optimizer = "rmsprop" },
		"lr":        func(c *Config) { c.LR = -1 },
		"beta1":     func(c *Config) { c.Beta1 = 1 },
		"eps":       func(c *Config) { c.Eps = 0 },
		"max":       func(c *Config) { c.MaxLogScale = math.Inf(1) },
		"init":      func(c *Config) { c.InitLogScale = math.NaN() },
	} {
		c := DefaultConfig()
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
}
