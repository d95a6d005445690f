package linear

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

// synth makes n examples of d features with l labels; label j is
// 1[x . w_j + noise*e > 0] for fixed random directions w_j, or a coin flip
// when random.
func synth(r *rand.Rand, n, d, l int, noise float64, random bool) Split {
	w := make([]float64, l*d)
	for i := range w {
		w[i] = rand.New(rand.NewPCG(99, uint64(i))).NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]float32, n*l)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(3 + 2*r.NormFloat64()) // not standardised
		}
		for c := 0; c < l; c++ {
			var s float64
			for j := 0; j < d; j++ {
				s += (float64(x[i*d+j]) - 3) * w[c*d+j]
			}
			s += noise * r.NormFloat64()
			if random {
				s = r.Float64() - 0.5
			}
			if s > 0 {
				y[i*l+c] = 1
			}
		}
	}
	return Split{X: Matrix{n, d, x}, Y: Matrix{n, l, y}}
}

func meanAUC(t *testing.T, p *Probe, s Split) float64 {
	t.Helper()
	pred, err := p.Predict(s.X)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for c := 0; c < s.Y.Cols; c++ {
		sc, lb := make([]float64, s.X.Rows), make([]float64, s.X.Rows)
		for i := range sc {
			sc[i], lb[i] = float64(pred[i][c]), float64(s.Y.Data[i*s.Y.Cols+c])
		}
		auc, err := metrics.AUC(sc, lb)
		if err != nil {
			t.Fatal(err)
		}
		total += auc
	}
	return total / float64(s.Y.Cols)
}

func TestSeparableBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	train, val, test := synth(r, 400, 16, 1, 0, false), synth(r, 200, 16, 1, 0, false), synth(r, 1000, 16, 1, 0, false)
	p, err := Train(context.Background(), train, val, Config{Task: Binary})
	if err != nil {
		t.Fatal(err)
	}
	if auc := meanAUC(t, p, test); auc < 0.98 {
		t.Errorf("separable data: test AUC %v (l2 %v, iterations %d)", auc, p.L2, p.Iterations)
	}
}

func TestRandomLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	train, val, test := synth(r, 300, 32, 3, 0, true), synth(r, 300, 32, 3, 0, true), synth(r, 2000, 32, 3, 0, true)
	p, err := Train(context.Background(), train, val, Config{Task: MultiLabel})
	if err != nil {
		t.Fatal(err)
	}
	if auc := meanAUC(t, p, test); math.Abs(auc-0.5) > 0.05 {
		t.Errorf("random labels: test AUC %v", auc)
	}
	// On noise, weak regularisation only overfits: the validation loss
	// chooses a strong one.
	if !p.Selected || p.L2 < 0.1 {
		t.Errorf("random labels: chose l2 %v (selected %v), path %+v", p.L2, p.Selected, p.Path)
	}
}

func TestMultiLabelUnknownLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	train, test := synth(r, 600, 10, 4, 0.5, false), synth(r, 800, 10, 4, 0.5, false)
	// Hide a third of the training labels: a NaN that leaked into the loss
	// would turn the loss and gradients into NaN.
	for i := range train.Y.Data {
		if i%3 == 0 {
			train.Y.Data[i] = float32(math.NaN())
		}
	}
	p, err := Train(context.Background(), train, Split{}, Config{Task: MultiLabel})
	if err != nil {
		t.Fatal(err)
	}
	if auc := meanAUC(t, p, test); auc < 0.95 {
		t.Errorf("multi-label with unknown labels: AUC %v", auc)
	}
	if !math.IsNaN(p.ValLoss) {
		t.Errorf("no validation split but ValLoss %v", p.ValLoss)
	}
	// Without a validation split: one fit at l2 = 1/n (scikit-learn's C = 1).
	if p.Selected || p.L2 != 1.0/600 || len(p.Path) != 1 || !p.Converged {
		t.Errorf("no validation split: l2 %v selected %v path %+v", p.L2, p.Selected, p.Path)
	}
}

func TestMultiClass(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	centres := [][]float64{{3, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 3, 0}}
	make3 := func(n int) Split {
		x := make([]float32, n*4)
		cls := make([]int, n)
		for i := range cls {
			cls[i] = r.IntN(3)
			for j := 0; j < 4; j++ {
				x[i*4+j] = float32(centres[cls[i]][j] + r.NormFloat64())
			}
		}
		return Split{X: Matrix{n, 4, x}, Class: cls}
	}
	train, val, test := make3(300), make3(100), make3(1000)
	p, err := Train(context.Background(), train, val, Config{Task: MultiClass, NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	pred, err := p.Predict(test.X)
	if err != nil {
		t.Fatal(err)
	}
	scores := make([][]float64, len(pred))
	for i, row := range pred {
		var sum float64
		for _, v := range row {
			scores[i] = append(scores[i], float64(v))
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("row %d probabilities sum to %v", i, sum)
		}
	}
	am, _ := metrics.Argmax(scores)
	acc, _ := metrics.Accuracy(am, test.Class)
	// Bayes accuracy for these clusters is about 0.92.
	if acc < 0.85 {
		t.Errorf("multi-class accuracy %v", acc)
	}
}

func TestObjectiveGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, task := range []Task{MultiLabel, MultiClass} {
		s := synth(r, 30, 5, 3, 1, false)
		s.Y.Data[4] = float32(math.NaN())
		s.Class = make([]int, 30)
		for i := range s.Class {
			s.Class[i] = r.IntN(3)
		}
		mean, scale := standardizer(s.X, false)
		s = standardized(s, mean, scale)
		o := newObjective(task, s, 3, 0.1)
		theta := make([]float64, o.dim())
		for i := range theta {
			theta[i] = 0.3 * r.NormFloat64()
		}
		g := make([]float64, len(theta))
		o.eval(theta, g)
		const h = 1e-3 // float32 logits: a wide step keeps rounding small
		for i := range theta {
			old := theta[i]
			theta[i] = old + h
			fp := o.eval(theta, nil)
			theta[i] = old - h
			fm := o.eval(theta, nil)
			theta[i] = old
			if fd := (fp - fm) / (2 * h); math.Abs(fd-g[i]) > 1e-4 {
				t.Errorf("%s: grad[%d] = %v, finite difference %v", task, i, g[i], fd)
			}
		}
	}
}

func TestTrainErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	ok := synth(r, 20, 3, 1, 0, false)
	ctx := context.Background()
	bad := ok
	bad.Y = Matrix{20, 1, append([]float32(nil), ok.Y.Data...)}
	bad.Y.Data[3] = 2
	cases := map[string]struct {
		train, val Split
		cfg        Config
	}{
		"task":       {ok, Split{}, Config{Task: "regression"}},
		"classes":    {ok, Split{}, Config{Task: MultiClass, NumClasses: 1}},
		"label 2":    {bad, Split{}, Config{Task: Binary}},
		"empty":      {Split{Y: Matrix{0, 1, nil}}, Split{}, Config{Task: Binary}},
		"val width":  {ok, synth(r, 5, 4, 1, 0, false), Config{Task: Binary}},
		"l2":         {ok, Split{}, Config{Task: Binary, L2: -1}},
		"l2 NaN":     {ok, Split{}, Config{Task: Binary, L2: math.NaN()}},
		"grid 0":     {ok, ok, Config{Task: Binary, L2Grid: []float64{1, 0}}},
		"grid inf":   {ok, ok, Config{Task: Binary, L2Grid: []float64{math.Inf(1)}}},
		"grid empty": {ok, ok, Config{Task: Binary, L2Grid: []float64{}}},
		"no labels":  {Split{X: ok.X, Y: Matrix{20, 1, nanLabels(20)}}, Split{}, Config{Task: Binary}},
		"val NaN":    {ok, Split{X: ok.X, Y: Matrix{20, 1, nanLabels(20)}}, Config{Task: Binary}},
		"binary L=2": {synth(r, 10, 3, 2, 0, false), Split{}, Config{Task: Binary}},
	}
	for name, c := range cases {
		if _, err := Train(ctx, c.train, c.val, c.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cancelled, ok, Split{}, Config{Task: Binary}); err == nil {
		t.Error("cancelled context ignored")
	}
}

// BenchmarkTrain measures a probe at the paper's largest size: go test
// -bench Train -run XXX ./plugins/evaluators/linear/
func BenchmarkTrain(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	train, val := synth(r, 20000, 2048, 5, 2, false), synth(r, 2000, 2048, 5, 2, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Train(context.Background(), train, val, Config{Task: MultiLabel})
		if err != nil {
			b.Fatal(err)
		}
		var iters int
		for _, f := range p.Path {
			iters += f.Iterations
		}
		b.ReportMetric(float64(iters), "iterations")
		b.ReportMetric(p.L2, "l2")
	}
}

func nanLabels(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	return out
}
