package linear

import (
	"context"
	"math"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
)

// lbfgs minimises f with limited-memory BFGS and a backtracking (Armijo)
// line search, to tolerance: it stops when the largest gradient component
// is below gtol, when an iteration lowers f by less than ftol relative to
// max(1, |f|) (scipy's L-BFGS-B criterion), or when no step along the
// search direction lowers f (the minimum to numerical precision). Only
// reaching maxIter counts as not converged.
type lbfgs struct {
	history int     // pairs (s, y) kept
	maxIter int     // iteration cap
	gtol    float64 // stop when max |g_i| < gtol
	ftol    float64 // stop when the relative decrease of f < ftol
}

// minimize improves x in place from its value on entry (a warm start) and
// returns the number of iterations run and whether a tolerance was met
// before maxIter.
func (l lbfgs) minimize(ctx context.Context, f func(x, g []float64) float64, x []float64) (iters int, converged bool, err error) {
	n := len(x)
	g := make([]float64, n)
	gNew := make([]float64, n)
	xNew := make([]float64, n)
	d := make([]float64, n)
	var ss, ys [][]float64
	var rhos []float64
	alpha := make([]float64, l.history)
	fx := f(x, g)
	for iter := 1; iter <= l.maxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return iter - 1, false, err
		}
		if maxAbs(g) < l.gtol {
			return iter - 1, true, nil
		}
		// Two-loop recursion: d = -H g.
		copy(d, g)
		for i := len(ss) - 1; i >= 0; i-- {
			alpha[i] = rhos[i] * vec.Dot(ss[i], d)
			axpy(-alpha[i], ys[i], d)
		}
		// The initial Hessian scale: s'y/y'y, or a first step of length
		// at most one.
		gScale := math.Max(1, math.Sqrt(vec.Dot(g, g))) // a steepest-descent step of length at most one
		gamma := 1 / gScale
		if k := len(ss); k > 0 {
			gamma = vec.Dot(ss[k-1], ys[k-1]) / vec.Dot(ys[k-1], ys[k-1])
		}
		for i := range d {
			d[i] *= gamma
		}
		for i := range ss {
			beta := rhos[i] * vec.Dot(ys[i], d)
			axpy(alpha[i]-beta, ss[i], d)
		}
		for i := range d {
			d[i] = -d[i]
		}
		slope := vec.Dot(g, d)
		if !(slope < 0) { // not a descent direction: restart from steepest descent
			ss, ys, rhos = nil, nil, nil
			for i := range d {
				d[i] = -g[i] / gScale
			}
			slope = vec.Dot(g, d)
		}
		t, fNew, ok := 1.0, 0.0, false
		for ls := 0; ls < 40; ls++ {
			for i := range x {
				xNew[i] = x[i] + t*d[i]
			}
			fNew = f(xNew, gNew)
			if fNew <= fx+1e-4*t*slope {
				ok = true
				break
			}
			t /= 2
		}
		if !ok { // no decrease along d: converged to numerical precision
			return iter - 1, true, nil
		}
		s := make([]float64, n)
		y := make([]float64, n)
		for i := range s {
			s[i] = xNew[i] - x[i]
			y[i] = gNew[i] - g[i]
		}
		if sy := vec.Dot(s, y); sy > 1e-10*vec.Dot(y, y) {
			if len(ss) == l.history {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, s), append(ys, y), append(rhos, 1/sy)
		}
		decrease := fx - fNew
		copy(x, xNew)
		copy(g, gNew)
		fx = fNew
		if decrease <= l.ftol*math.Max(1, math.Abs(fx)) {
			return iter, true, nil
		}
	}
	return l.maxIter, maxAbs(g) < l.gtol, nil
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}
