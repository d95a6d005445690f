package contrastivebinary

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

func mat(t *testing.T, dt tensor.DType, rows, cols int, vals []float64) *tensor.Tensor {
	t.Helper()
	m, err := tensor.FromFloat64s(dt, []int64{int64(rows), int64(cols)}, vals)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randMat(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func mustNew(t *testing.T, cfg Config) *Loss {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// reference is the loss of the package comment, in plain Go.
func reference(cfg Config, v, u []float64, n, d int) float64 {
	unit := func(x []float64) []float64 {
		s := 0.0
		for _, a := range x {
			s += a * a
		}
		out := make([]float64, len(x))
		for i, a := range x {
			out[i] = a / math.Max(math.Sqrt(s), 1e-12)
		}
		return out
	}
	softplus := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	cos := make([]float64, n*n)
	mean := 0.0
	for i := range n {
		vi := unit(v[i*d : (i+1)*d])
		for j := range n {
			uj := unit(u[j*d : (j+1)*d])
			for k := range d {
				cos[i*n+j] += vi[k] * uj[k]
			}
			mean += cos[i*n+j] / float64(n*n)
		}
	}
	pos, neg := 0.0, 0.0
	for i := range n {
		for j := range n {
			c := cos[i*n+j]
			if cfg.Center {
				c -= mean
			}
			s := c/cfg.Tau + cfg.Bias
			if i == j {
				pos += softplus(-s)
			} else {
				neg += softplus(s)
			}
		}
	}
	l := pos / float64(n)
	if n > 1 {
		l += cfg.NegWeight * neg / float64(n*(n-1))
	}
	return l
}

// TestLossMatchesReference: the loss is the package comment's formula,
// for balanced and weighted negatives, a bias, and a batch of one (no
// negatives); the metrics count the classes.
func TestLossMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		cfg  Config
		n, d int
	}{
		{DefaultConfig(), 6, 4},
		{Config{Tau: 0.1, NegWeight: 1}, 6, 4},
		{Config{Tau: 0.5, Bias: -1.5, NegWeight: 3}, 5, 3},
		{Config{Tau: 0.5, Bias: 1, NegWeight: 2, Center: true}, 1, 3},
		{Config{Tau: 0.2, NegWeight: 1}, 1, 3},
	} {
		vv, uv := randMat(r, c.n*c.d), randMat(r, c.n*c.d)
		res, err := mustNew(t, c.cfg).Compute(mat(t, tensor.Float64, c.n, c.d, vv), mat(t, tensor.Float64, c.n, c.d, uv))
		if err != nil {
			t.Fatal(err)
		}
		if want := reference(c.cfg, vv, uv, c.n, c.d); math.Abs(res.Loss-want) > 1e-12 {
			t.Errorf("%+v n=%d: loss %.15f, want %.15f", c.cfg, c.n, res.Loss, want)
		}
		if a := res.Metrics[MetricAccPos]; a < 0 || a > 1 {
			t.Errorf("acc_pos %v", a)
		}
		if _, ok := res.Metrics[MetricLossNeg]; ok != (c.n > 1) {
			t.Errorf("n=%d: loss_neg reported %v", c.n, ok)
		}
	}
	// Identical unit rows: every pair has cosine 1, so with tau 1 every
	// matched pair is right (s = 1 > 0) and every mismatched one wrong.
	v := mat(t, tensor.Float32, 3, 2, []float64{1, 0, 1, 0, 1, 0})
	res, err := mustNew(t, Config{Tau: 1, NegWeight: 1}).Compute(v, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics[MetricAccPos] != 1 || res.Metrics[MetricAccNeg] != 0 {
		t.Errorf("metrics %v, want acc_pos 1, acc_neg 0", res.Metrics)
	}
}

// TestGradientFiniteDifferences: dL/dv and dL/du agree with central
// differences of the loss, in float64.
func TestGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 5, 4
	for _, cfg := range []Config{{Tau: 0.3, Bias: 0.5, NegWeight: 2}, {Tau: 0.3, Bias: -1, NegWeight: 2, Center: true}} {
		checkGradient(t, r, cfg, n, d)
	}
}

// checkGradient compares the gradients of the loss of cfg at random n x d
// inputs with central differences.
func checkGradient(t *testing.T, r *rand.Rand, cfg Config, n, d int) {
	t.Helper()
	vv, uv := randMat(r, n*d), randMat(r, n*d)
	l := mustNew(t, cfg)
	res, err := l.Compute(mat(t, tensor.Float64, n, d, vv), mat(t, tensor.Float64, n, d, uv))
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func() float64 {
		r, err := l.Compute(mat(t, tensor.Float64, n, d, vv), mat(t, tensor.Float64, n, d, uv))
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	const h = 1e-6
	for which, gt := range []*tensor.Tensor{res.GradV, res.GradU} {
		g, err := gt.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		x := [][]float64{vv, uv}[which]
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := lossAt()
			x[i] = old - h
			lm := lossAt()
			x[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%+v: input %d element %d: grad %.9g, finite difference %.9g", cfg, which, i, g[i], fd)
			}
		}
	}
}

// TestErrorsAndFrees: bad configs are refused by key, bad inputs refused,
// and no libtorch tensor outlives a call.
func TestErrorsAndFrees(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{{Config{Tau: 0, NegWeight: 1}, "tau"}, {Config{Tau: 0.1, NegWeight: -1}, "neg_weight"}} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	l := mustNew(t, DefaultConfig())
	a := mat(t, tensor.Float32, 2, 3, make([]float64, 6))
	if _, err := l.Compute(a, mat(t, tensor.Float32, 3, 3, make([]float64, 9))); err == nil {
		t.Error("mismatched shapes accepted")
	}
	r := rand.New(rand.NewPCG(7, 8))
	v, u := mat(t, tensor.Float32, 8, 16, randMat(r, 128)), mat(t, tensor.Float32, 8, 16, randMat(r, 128))
	if _, err := l.Compute(v, u); err != nil {
		t.Fatal(err)
	}
	before := len(ts.ExistingTensors)
	for range 3 {
		if _, err := l.Compute(v, u); err != nil {
			t.Fatal(err)
		}
	}
	if after := len(ts.ExistingTensors); after != before {
		t.Errorf("live libtorch tensors went from %d to %d over 3 calls", before, after)
	}
}
