package metrics

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestAUCHandComputed(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name           string
		scores, labels []float64
		want           float64
	}{
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []float64{0, 1, 0, 1}, 0.5},
		// pairs (pos, neg): (0.5,0.2)=1 (0.5,0.5)=1/2 (0.9,0.2)=1 (0.9,0.5)=1
		{"one tie", []float64{0.2, 0.5, 0.5, 0.9}, []float64{0, 0, 1, 1}, 3.5 / 4},
		{"perfect", []float64{1, 2, 3, 4, 5}, []float64{0, 0, 1, 1, 1}, 1},
		{"inverted", []float64{5, 4, 3, 2, 1}, []float64{0, 0, 1, 1, 1}, 0},
		{"unknown labels skipped", []float64{0.1, 9, 0.4, 0.35, 0.8}, []float64{0, nan, 0, 1, 1}, 0.75},
		// 3 positives x 2 negatives; positive 0.3 beats negative 0.2 only,
		// 0.6 ties 0.6 and beats 0.2, 0.7 beats both: (1 + 1.5 + 2) / 6.
		{"mixed", []float64{0.3, 0.2, 0.6, 0.6, 0.7}, []float64{1, 0, 1, 0, 1}, 4.5 / 6},
	}
	for _, c := range cases {
		got, err := AUC(c.scores, c.labels)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !near(got, c.want) {
			t.Errorf("%s: AUC %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAUCErrors(t *testing.T) {
	if _, err := AUC([]float64{0.1, 0.2}, []float64{1, 1}); !errors.Is(err, ErrOneClass) {
		t.Errorf("only positives: err %v", err)
	}
	if _, err := AUC([]float64{0.1, 0.2}, []float64{0, math.NaN()}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one known negative: err %v", err)
	}
	if _, err := AUC([]float64{0.1}, []float64{0, 1}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := AUC([]float64{0.1, 0.2}, []float64{0, 2}); err == nil {
		t.Error("label 2 accepted")
	}
	if _, err := AUC([]float64{math.NaN(), 0.2}, []float64{0, 1}); err == nil {
		t.Error("NaN score accepted")
	}
}

func TestROC(t *testing.T) {
	pts, err := ROC([]float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{0, 0}, {0, 0.5}, {0.5, 0.5}, {0.5, 1}, {1, 1}}
	if len(pts) != len(want) {
		t.Fatalf("%d points, want %d: %v", len(pts), len(want), pts)
	}
	for i, w := range want {
		if !near(pts[i].FPR, w[0]) || !near(pts[i].TPR, w[1]) {
			t.Errorf("point %d = %+v, want fpr %v tpr %v", i, pts[i], w[0], w[1])
		}
	}
	if !math.IsInf(pts[0].Threshold, 1) || pts[1].Threshold != 0.8 {
		t.Errorf("thresholds %v %v", pts[0].Threshold, pts[1].Threshold)
	}
	// With many ties, the trapezoidal area under the curve is the AUC.
	r := rand.New(rand.NewPCG(1, 2))
	s, y := make([]float64, 300), make([]float64, 300)
	for i := range s {
		s[i] = float64(r.IntN(7))
		y[i] = float64(r.IntN(2))
	}
	auc, err := AUC(s, y)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = ROC(s, y)
	if err != nil {
		t.Fatal(err)
	}
	if a := TrapezoidArea(pts); !near(a, auc) {
		t.Errorf("area %v, AUC %v", a, auc)
	}
}

func TestAccuracyArgmax(t *testing.T) {
	pred, err := Argmax([][]float64{{0.1, 0.7, 0.2}, {0.5, 0.5, 0}, {0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if pred[0] != 1 || pred[1] != 0 || pred[2] != 2 {
		t.Errorf("argmax %v", pred)
	}
	acc, err := Accuracy(pred, []int{1, 1, 2})
	if err != nil || !near(acc, 2.0/3) {
		t.Errorf("accuracy %v (err %v), want 2/3", acc, err)
	}
	if _, err := Accuracy(nil, nil); err == nil {
		t.Error("empty accuracy accepted")
	}
	if _, err := Argmax([][]float64{{math.NaN()}}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestPrecisionAtK(t *testing.T) {
	rel := []bool{true, false, true, true, false}
	for k, want := range map[int]float64{1: 1, 2: 0.5, 4: 0.75, 5: 0.6} {
		if got, err := PrecisionAtK(rel, k); err != nil || !near(got, want) {
			t.Errorf("P@%d = %v (err %v), want %v", k, got, err, want)
		}
	}
	if _, err := PrecisionAtK(rel, 6); err == nil {
		t.Error("k beyond the ranking accepted")
	}
	if _, err := PrecisionAtK(rel, 0); err == nil {
		t.Error("k = 0 accepted")
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	for q, want := range map[float64]float64{0: 1, 1: 5, 0.5: 3, 0.25: 2, 0.1: 1.4} {
		if got := quantile(xs, q); !near(got, want) {
			t.Errorf("quantile %v = %v, want %v", q, got, want)
		}
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 400)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	mean := func(idx []int) (float64, error) {
		var s float64
		for _, i := range idx {
			s += x[i]
		}
		return s / float64(len(idx)), nil
	}
	cfg := BootstrapConfig{Seed: 7}
	a, err := Bootstrap(ctx, len(x), mean, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Bootstrap(ctx, len(x), mean, cfg)
	if a != b {
		t.Errorf("same seed, different intervals: %v %v", a, b)
	}
	full, _ := mean(func() []int {
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}())
	// The 95% interval of a mean of 400 N(0,1) is about +-1.96/20 = +-0.098.
	if !(a.Lo < full && full < a.Hi) || a.Hi-a.Lo < 0.15 || a.Hi-a.Lo > 0.25 {
		t.Errorf("interval %+v around %v", a, full)
	}
	constant := func([]int) (float64, error) { return 0.5, nil }
	if c, err := Bootstrap(ctx, 10, constant, cfg); err != nil || c.Lo != 0.5 || c.Hi != 0.5 {
		t.Errorf("constant metric: %+v %v", c, err)
	}
	oneClass := func([]int) (float64, error) { return 0, ErrOneClass }
	if _, err := Bootstrap(ctx, 10, oneClass, cfg); !errors.Is(err, ErrOneClass) {
		t.Errorf("all resamples one-class: err %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Bootstrap(cancelled, 10, constant, cfg); err == nil {
		t.Error("cancelled context ignored")
	}
}

func TestStratifiedBootstrap(t *testing.T) {
	ctx := context.Background()
	cfg := BootstrapConfig{Seed: 5, Resamples: 200}
	x := []float64{0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8}
	mean := func(idx []int) (float64, error) {
		var s float64
		for _, i := range idx {
			s += x[i]
		}
		return s / float64(len(idx)), nil
	}
	plain, err := Bootstrap(ctx, len(x), mean, cfg)
	if err != nil {
		t.Fatal(err)
	}
	one, err := StratifiedBootstrap(ctx, [][]int{{0, 1, 2, 3, 4, 5, 6}}, mean, cfg)
	if err != nil || one != plain {
		t.Errorf("one stratum: %+v (err %v), Bootstrap %+v", one, err, plain)
	}
	// Each resample keeps the strata: the first 2 indices come from {5, 6},
	// the next 3 from {0, 2, 4}.
	strata := [][]int{{5, 6}, {0, 2, 4}}
	calls := 0
	_, err = StratifiedBootstrap(ctx, strata, func(idx []int) (float64, error) {
		calls++
		if len(idx) != 5 {
			t.Fatalf("resample of %d", len(idx))
		}
		for k, i := range idx {
			if (k < 2) != (i == 5 || i == 6) || (k >= 2 && i%2 != 0) {
				t.Fatalf("resample %v breaks the strata", idx)
			}
		}
		return 0, nil
	}, cfg)
	if err != nil || calls != 200 {
		t.Errorf("err %v after %d calls", err, calls)
	}
	if _, err := StratifiedBootstrap(ctx, [][]int{{1}, {}}, mean, cfg); err == nil {
		t.Error("empty stratum accepted")
	}
}
