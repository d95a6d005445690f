package convirt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

func mat(t *testing.T, dt tensor.DType, rows, cols int, vals []float64) *tensor.Tensor {
	t.Helper()
	if len(vals) != rows*cols {
		t.Fatalf("mat: %d values for %dx%d", len(vals), rows, cols)
	}
	m, err := tensor.FromFloat64s(dt, []int64{int64(rows), int64(cols)}, vals)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func vals(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func randMat(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func mustNew(t *testing.T, tau, lambda float64) *Loss {
	t.Helper()
	l, err := New(Config{Tau: tau, Lambda: lambda})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestHandComputed2x2(t *testing.T) {
	// v is already unit-norm; u's second row [2,2] normalises to [a,a] with
	// a = 1/sqrt(2). With tau = 1, S = [[1, a], [0, a]].
	v := mat(t, tensor.Float64, 2, 2, []float64{1, 0, 0, 1})
	u := mat(t, tensor.Float64, 2, 2, []float64{3, 0, 2, 2})
	a := 1 / math.Sqrt2
	rows := math.Log1p(math.Exp(a-1)) + math.Log1p(math.Exp(-a))
	cols := math.Log1p(math.Exp(-1)) + math.Log(2)
	for _, lambda := range []float64{0, 0.25, 0.75, 1} {
		res, err := mustNew(t, 1, lambda).Compute(v, u)
		if err != nil {
			t.Fatal(err)
		}
		want := 0.5 * (lambda*rows + (1-lambda)*cols)
		if math.Abs(res.Loss-want) > 1e-12 {
			t.Errorf("lambda %v: loss %.15f, want %.15f", lambda, res.Loss, want)
		}
		if got := res.Metrics[MetricLossImageToText]; math.Abs(got-rows/2) > 1e-12 {
			t.Errorf("loss_i2t %v, want %v", got, rows/2)
		}
		if got := res.Metrics[MetricLossTextToImage]; math.Abs(got-cols/2) > 1e-12 {
			t.Errorf("loss_t2i %v, want %v", got, cols/2)
		}
		// Rows: row 0 argmax is col 0 (right); row 1's max a is col 1 (right).
		// Columns: col 0 max is row 0 (right); col 1 ties at a, first is row 0 (miss).
		if res.Metrics[MetricAccImageToText] != 1 || res.Metrics[MetricAccTextToImage] != 0.5 {
			t.Errorf("accuracies %v", res.Metrics)
		}
	}
}

func TestGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, d = 5, 4
	vv, uv := randMat(r, n*d), randMat(r, n*d)
	l := mustNew(t, 0.1, 0.75)
	res, err := l.Compute(mat(t, tensor.Float64, n, d, vv), mat(t, tensor.Float64, n, d, uv))
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func(vv, uv []float64) float64 {
		r, err := l.Compute(mat(t, tensor.Float64, n, d, vv), mat(t, tensor.Float64, n, d, uv))
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	const h = 1e-6
	for which, g := range [][]float64{vals(t, res.GradV), vals(t, res.GradU)} {
		x := [][]float64{vv, uv}[which]
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := lossAt(vv, uv)
			x[i] = old - h
			lm := lossAt(vv, uv)
			x[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("input %d element %d: grad %.9g, finite difference %.9g", which, i, g[i], fd)
			}
		}
	}
}

func TestLambdaExtremes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	v := mat(t, tensor.Float64, 6, 3, randMat(r, 18))
	u := mat(t, tensor.Float64, 6, 3, randMat(r, 18))
	one, err := mustNew(t, 0.1, 1).Compute(v, u)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := mustNew(t, 0.1, 0).Compute(v, u)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(one.Loss-one.Metrics[MetricLossImageToText]) > 1e-12 {
		t.Errorf("lambda 1: loss %v, i2t %v", one.Loss, one.Metrics[MetricLossImageToText])
	}
	if math.Abs(zero.Loss-zero.Metrics[MetricLossTextToImage]) > 1e-12 {
		t.Errorf("lambda 0: loss %v, t2i %v", zero.Loss, zero.Metrics[MetricLossTextToImage])
	}
	// Swapping the roles of v and u turns one direction into the other.
	swapped, err := mustNew(t, 0.1, 0).Compute(u, v)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(swapped.Loss-one.Loss) > 1e-12 {
		t.Errorf("lambda 0 on (u, v) = %v, lambda 1 on (v, u) = %v", swapped.Loss, one.Loss)
	}
	gs, g1 := vals(t, swapped.GradU), vals(t, one.GradV)
	for i := range gs {
		if math.Abs(gs[i]-g1[i]) > 1e-12 {
			t.Fatalf("gradients differ at %d: %v vs %v", i, gs[i], g1[i])
		}
	}
}

func TestSymmetricInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randMat(r, 4*8)
	res, err := mustNew(t, 0.1, 0.5).Compute(mat(t, tensor.Float32, 4, 8, x), mat(t, tensor.Float32, 4, 8, x))
	if err != nil {
		t.Fatal(err)
	}
	if res.GradV.DType != tensor.Float32 || res.GradV.Shape[0] != 4 || res.GradV.Shape[1] != 8 {
		t.Fatalf("gradient is %s %v, want float32 [4 8]", res.GradV.DType, res.GradV.Shape)
	}
	if a, b := res.Metrics[MetricLossImageToText], res.Metrics[MetricLossTextToImage]; math.Abs(a-b) > 1e-6 {
		t.Errorf("v == u but directions differ: %v vs %v", a, b)
	}
	gv, gu := vals(t, res.GradV), vals(t, res.GradU)
	for i := range gv {
		if math.Abs(gv[i]-gu[i]) > 1e-6 {
			t.Fatalf("v == u, lambda 0.5: grads differ at %d: %v vs %v", i, gv[i], gu[i])
		}
	}
	if res.Metrics[MetricAccImageToText] != 1 || res.Metrics[MetricAccTextToImage] != 1 {
		t.Errorf("identical pairs should be retrieved perfectly: %v", res.Metrics)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []Config{{Tau: 0, Lambda: 0.5}, {Tau: -1, Lambda: 0.5}, {Tau: math.NaN(), Lambda: 0.5}, {Tau: 0.1, Lambda: 1.5}, {Tau: 0.1, Lambda: math.NaN()}} {
		if _, err := New(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	l := mustNew(t, 0.1, 0.75)
	a := mat(t, tensor.Float32, 2, 3, make([]float64, 6))
	cases := map[string][2]*tensor.Tensor{
		"shape":  {a, mat(t, tensor.Float32, 3, 3, make([]float64, 9))},
		"dtype":  {a, mat(t, tensor.Float64, 2, 3, make([]float64, 6))},
		"nil":    {a, nil},
		"rank":   {a, {DType: tensor.Float32, Shape: []int64{6}, Data: make([]byte, 24)}},
		"int":    {{DType: tensor.Int64, Shape: []int64{2, 3}, Data: make([]byte, 48)}, {DType: tensor.Int64, Shape: []int64{2, 3}, Data: make([]byte, 48)}},
		"broken": {a, {DType: tensor.Float32, Shape: []int64{2, 3}, Data: make([]byte, 7)}},
	}
	for name, c := range cases {
		if _, err := l.Compute(c[0], c[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestFreesTensors(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	l := mustNew(t, 0.1, 0.75)
	v := mat(t, tensor.Float32, 8, 16, randMat(r, 128))
	u := mat(t, tensor.Float32, 8, 16, randMat(r, 128))
	if _, err := l.Compute(v, u); err != nil { // warm up
		t.Fatal(err)
	}
	before := len(ts.ExistingTensors)
	for i := 0; i < 5; i++ {
		if _, err := l.Compute(v, u); err != nil {
			t.Fatal(err)
		}
	}
	if after := len(ts.ExistingTensors); after != before {
		t.Errorf("live libtorch tensors went from %d to %d over 5 calls", before, after)
	}
}

// TestConfigAgreesWithSchema: New refuses what the reported schema refuses,
// because both come from Config's tags (a tau below the schema's 1e-6 was
// accepted by the hand-written Validate), and the error names the key.
func TestConfigAgreesWithSchema(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Tau: 1e-7, Lambda: 0.5}, "tau: value 1e-07 is out of range >= 1e-06"},
		{Config{Tau: 0.1, Lambda: 1.5}, "lambda: value 1.5 is out of range [0, 1]"},
	} {
		if iss := Schema.Check("", map[string]any{"tau": c.cfg.Tau, "lambda": c.cfg.Lambda}); len(iss) == 0 {
			t.Errorf("schema accepts %+v", c.cfg)
		}
		_, err := New(c.cfg)
		if err == nil || err.Error() != "convirt: "+c.want {
			t.Errorf("New(%+v): %v, want convirt: %s", c.cfg, err, c.want)
		}
	}
}
