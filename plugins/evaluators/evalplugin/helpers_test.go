package evalplugin

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// fset builds a feature set from rows of features and labels.
func fset(t *testing.T, x, y [][]float32, names []string) *sdk.FeatureSet {
	t.Helper()
	fs := &sdk.FeatureSet{Features: mat(t, x), Labels: mat(t, y), LabelNames: names}
	for i := range x {
		fs.IDs = append(fs.IDs, fmt.Sprintf("img-%d", i))
	}
	return fs
}

// mat packs rows as a 2-d float32 tensor.
func mat(t *testing.T, rows [][]float32) *tensor.Tensor {
	t.Helper()
	var flat []float32
	cols := 0
	if len(rows) > 0 {
		cols = len(rows[0])
	}
	for _, r := range rows {
		flat = append(flat, r...)
	}
	m, err := tensor.FromFloat32([]int64{int64(len(rows)), int64(cols)}, flat)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// synthLabels makes n examples of d features and k labels. Label c is set
// with probability 0.3; when signal, feature c is the label plus N(0, 0.3^2)
// noise, otherwise all features are pure noise.
func synthLabels(r *rand.Rand, n, d, k int, signal bool) (x, y [][]float32) {
	for i := 0; i < n; i++ {
		xr, yr := make([]float32, d), make([]float32, k)
		for j := range xr {
			xr[j] = float32(r.NormFloat64())
		}
		for c := range yr {
			if r.Float64() < 0.3 {
				yr[c] = 1
			}
			if signal {
				xr[c] = yr[c] + float32(0.3*r.NormFloat64())
			}
		}
		x, y = append(x, xr), append(y, yr)
	}
	return x, y
}

// synthClasses makes n examples of d features in k classes (one-hot
// labels); class c shifts feature c by 3.
func synthClasses(r *rand.Rand, n, d, k int) (x, y [][]float32) {
	for i := 0; i < n; i++ {
		xr, yr := make([]float32, d), make([]float32, k)
		for j := range xr {
			xr[j] = float32(r.NormFloat64())
		}
		c := r.IntN(k)
		yr[c] = 1
		xr[c] += 3
		x, y = append(x, xr), append(y, yr)
	}
	return x, y
}

// scoreOf finds a score by metric name.
func scoreOf(t *testing.T, res sdk.EvalResult, metric string) sdk.Score {
	t.Helper()
	for _, s := range res.Scores {
		if s.Metric == metric {
			return s
		}
	}
	var have []string
	for _, s := range res.Scores {
		have = append(have, s.Metric)
	}
	t.Fatalf("no score %q in %v", metric, have)
	return sdk.Score{}
}

// near reports |a-b| <= tol.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkScore checks a score's internal consistency: values per seed, mean,
// std and an interval around the mean.
func checkScore(t *testing.T, s sdk.Score, seeds []uint64) {
	t.Helper()
	if fmt.Sprint(s.Seeds) != fmt.Sprint(seeds) || len(s.Values) != len(seeds) {
		t.Fatalf("%s: seeds %v values %v, want seeds %v", s.Metric, s.Seeds, s.Values, seeds)
	}
	var m float64
	for _, v := range s.Values {
		m += v
	}
	m /= float64(len(s.Values))
	if !near(m, s.Mean, 1e-12) {
		t.Errorf("%s: mean %v, values average %v", s.Metric, s.Mean, m)
	}
	if len(seeds) == 1 && s.Std != 0 {
		t.Errorf("%s: std %v for one seed", s.Metric, s.Std)
	}
	if !(s.CILo <= s.Mean+1e-9 && s.Mean <= s.CIHi+1e-9) {
		t.Errorf("%s: interval [%v, %v] does not hold the mean %v", s.Metric, s.CILo, s.CIHi, s.Mean)
	}
}

// wantErr runs eval and checks that it fails with every fragment in its
// message.
func wantErr(t *testing.T, name string, ev sdk.Evaluator, req sdk.EvalRequest, fragments ...string) {
	t.Helper()
	_, err := ev.Evaluate(context.Background(), req)
	if err == nil {
		t.Errorf("%s: accepted", name)
		return
	}
	t.Logf("%s: %v", name, err)
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: error %q does not mention %q", name, err, f)
		}
	}
}

// configured returns ev configured with cfg, failing the test otherwise.
func configured[E sdk.Evaluator](t *testing.T, ev E, cfg map[string]any) E {
	t.Helper()
	if err := ev.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return ev
}
