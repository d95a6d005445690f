package linear

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// newton minimises one label's L2-regularised logistic loss,
// (1/n)·Σ softplus(z_i) - y_i·z_i + (l2/2)·||w||² with z = x·w + b over the
// rows whose label is known, by Newton's method in float64 (gonum's dense
// solver): an independent route to the optimum the probe's L-BFGS must
// reach. It returns w and b.
func newton(t *testing.T, x [][]float64, y []float64, l2 float64) ([]float64, float64) {
	t.Helper()
	d := len(x[0])
	theta := make([]float64, d+1) // w, then b
	var n float64
	for _, v := range y {
		if !math.IsNaN(v) {
			n++
		}
	}
	for it := 0; it < 100; it++ {
		g := mat.NewVecDense(d+1, nil)
		h := mat.NewSymDense(d+1, nil)
		for i, row := range x {
			if math.IsNaN(y[i]) {
				continue
			}
			xe := append(append([]float64(nil), row...), 1)
			z := 0.0
			for j, v := range xe {
				z += v * theta[j]
			}
			p := 1 / (1 + math.Exp(-z))
			for j := range xe {
				g.SetVec(j, g.AtVec(j)+(p-y[i])*xe[j]/n)
				for k := j; k < len(xe); k++ {
					h.SetSym(j, k, h.At(j, k)+p*(1-p)*xe[j]*xe[k]/n)
				}
			}
		}
		for j := 0; j < d; j++ {
			g.SetVec(j, g.AtVec(j)+l2*theta[j])
			h.SetSym(j, j, h.At(j, j)+l2)
		}
		var step mat.VecDense
		if err := step.SolveVec(h, g); err != nil {
			t.Fatal(err)
		}
		for j := range theta {
			theta[j] -= step.AtVec(j)
		}
		if mat.Norm(&step, math.Inf(1)) < 1e-13 {
			break
		}
	}
	return theta[:d], theta[d]
}

// TestProbeMatchesNewton checks the probe's optimum against Newton's method
// on a small multi-label problem with unknown labels: each label is its own
// logistic regression, averaged over its own known examples, with the bias
// unpenalised.
func TestProbeMatchesNewton(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	s := synth(r, 80, 4, 2, 1.5, false)
	for i := 0; i < 80; i += 7 {
		s.Y.Data[i*2+1] = float32(math.NaN()) // label 1 misses every 7th row
	}
	const l2 = 0.05
	p, err := Train(context.Background(), s, Split{}, Config{Task: MultiLabel, L2: l2, NoStandardize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Converged || p.Selected || p.L2 != l2 {
		t.Fatalf("fit %+v selected %v", p.Fit, p.Selected)
	}
	x := make([][]float64, 80)
	for i := range x {
		for _, v := range s.X.Row(i) {
			x[i] = append(x[i], float64(v))
		}
	}
	for c := 0; c < 2; c++ {
		y := make([]float64, 80)
		for i := range y {
			y[i] = float64(s.Y.Data[i*2+c])
		}
		w, b := newton(t, x, y, l2)
		got := p.w[c*4 : (c+1)*4]
		for j := range w {
			if math.Abs(got[j]-w[j]) > 1e-4*math.Max(1, math.Abs(w[j])) {
				t.Errorf("label %d: w[%d] = %.6f, Newton %.6f", c, j, got[j], w[j])
			}
		}
		if math.Abs(p.b[c]-b) > 1e-4*math.Max(1, math.Abs(b)) { // float32 logits
			t.Errorf("label %d: b = %.6f, Newton %.6f", c, p.b[c], b)
		}
	}
}

// TestProbeKnownOptimum: two examples x = ±1 with labels 1 and 0 have, by
// symmetry, b = 0 and a w solving (1 - σ(w)) = l2·w (the stationarity of
// log(1 + e^-w) + (l2/2)·w²), found here by bisection.
func TestProbeKnownOptimum(t *testing.T) {
	s := Split{X: Matrix{2, 1, []float32{1, -1}}, Y: Matrix{2, 1, []float32{1, 0}}}
	for _, l2 := range []float64{0.01, 0.1, 1} {
		p, err := Train(context.Background(), s, Split{}, Config{Task: Binary, L2: l2, NoStandardize: true})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := 0.0, 1/l2
		for i := 0; i < 200; i++ {
			mid := (lo + hi) / 2
			if 1-sigmoid(mid) > l2*mid {
				lo = mid
			} else {
				hi = mid
			}
		}
		if math.Abs(p.w[0]-lo) > 1e-4*math.Max(1, lo) || math.Abs(p.b[0]) > 1e-6 {
			t.Errorf("l2 %v: w %v b %v, want w %v b 0", l2, p.w[0], p.b[0], lo)
		}
	}
}

// TestGridSelection checks that the kept fit is the path's lowest
// validation loss, that the path runs strongest first with every fit
// converged, and that the kept weights give the recorded validation loss
// when recomputed from their predicted probabilities.
func TestGridSelection(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 22))
	train, val := synth(r, 60, 20, 2, 2, false), synth(r, 200, 20, 2, 2, false)
	grid := []float64{1e-3, 10, 0.1} // any order
	p, err := Train(context.Background(), train, val, Config{Task: MultiLabel, L2Grid: grid})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Path) != 3 || p.Path[0].L2 != 10 || p.Path[1].L2 != 0.1 || p.Path[2].L2 != 1e-3 {
		t.Fatalf("path %+v", p.Path)
	}
	best := p.Path[0]
	for _, f := range p.Path {
		if !f.Converged {
			t.Errorf("fit %+v did not converge", f)
		}
		if f.ValLoss < best.ValLoss {
			best = f
		}
	}
	if !p.Selected || p.Fit != best {
		t.Errorf("kept %+v, lowest validation loss %+v", p.Fit, best)
	}
	pred, err := p.Predict(val.X)
	if err != nil {
		t.Fatal(err)
	}
	var loss float64
	for c := 0; c < 2; c++ {
		var sum float64
		for i, row := range pred {
			q, y := float64(row[c]), float64(val.Y.Data[i*2+c])
			sum -= y*math.Log(q) + (1-y)*math.Log(1-q)
		}
		loss += sum / float64(len(pred)) / 2
	}
	if math.Abs(loss-p.ValLoss) > 1e-4 {
		t.Errorf("validation loss of the kept weights %v, recorded %v", loss, p.ValLoss)
	}
	t.Logf("path %+v", p.Path)
}
