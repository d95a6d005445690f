package linear

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
)

// DefaultL2Grid is the default set of candidate L2 strengths: decades from
// 1 to 1e-6. In scikit-learn's terms (l2 = 1/(C·n)) it spans C = 1/n to
// 1e6/n, n the training examples: from a nearly nearest-centroid probe to a
// nearly unregularised one.
var DefaultL2Grid = []float64{1e2, 1e1, 1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6}

// Config sets the probe's training.
type Config struct {
	// Task is Binary, MultiLabel or MultiClass.
	Task Task `json:"task"`
	// NumClasses is the number of classes of a MultiClass task.
	NumClasses int `json:"num_classes"`
	// L2Grid lists the candidate L2 strengths, each finite and > 0 (default
	// DefaultL2Grid). With a validation split the probe is fitted for each,
	// strongest first, every fit to convergence and warm-started from the
	// previous one, and the fit with the lowest validation loss is kept
	// (ties: the stronger). The objective is documented on objective: per
	// label, mean loss + (l2/2)·||w||².
	L2Grid []float64 `json:"l2_grid"`
	// L2 is the strength used when there is no validation split to choose
	// one; 0 means 1/n for n training examples, scikit-learn's
	// LogisticRegression default (C = 1).
	L2 float64 `json:"l2"`
	// MaxIter caps the L-BFGS iterations of each fit (default 1000); a fit
	// that reaches it is reported as not converged (Fit.Converged).
	MaxIter int `json:"max_iter"`
	// History is the number of L-BFGS correction pairs (default 10).
	History int `json:"history"`
	// NoStandardize turns off the per-feature standardisation.
	NoStandardize bool `json:"no_standardize"`
}

// L-BFGS tolerances of every fit (lbfgs documents them).
const (
	gradTol = 1e-6
	funcTol = 1e-9
)

func (c Config) withDefaults() (Config, error) {
	if c.L2Grid == nil {
		c.L2Grid = DefaultL2Grid
	}
	if c.MaxIter == 0 {
		c.MaxIter = 1000
	}
	if c.History == 0 {
		c.History = 10
	}
	switch {
	case c.Task != Binary && c.Task != MultiLabel && c.Task != MultiClass:
		return c, fmt.Errorf("task must be %q, %q or %q, got %q", Binary, MultiLabel, MultiClass, c.Task)
	case c.Task == MultiClass && c.NumClasses < 2:
		return c, fmt.Errorf("num_classes must be >= 2 for a multi-class task, got %d", c.NumClasses)
	case len(c.L2Grid) == 0:
		return c, fmt.Errorf("l2_grid is empty")
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return c, fmt.Errorf("l2 must be finite and >= 0, got %v", c.L2)
	case c.MaxIter < 0 || c.History < 0:
		return c, fmt.Errorf("max_iter and history must be >= 0 (got %d, %d)", c.MaxIter, c.History)
	}
	for i, l := range c.L2Grid {
		if !(l > 0) || math.IsInf(l, 0) {
			return c, fmt.Errorf("l2_grid[%d] must be finite and > 0, got %v", i, l)
		}
	}
	// Strongest first: each fit warm-starts the next, weaker one.
	c.L2Grid = append([]float64(nil), c.L2Grid...)
	sort.Sort(sort.Reverse(sort.Float64Slice(c.L2Grid)))
	return c, nil
}

// Fit is one L-BFGS fit of the probe at one L2 strength.
type Fit struct {
	// L2 is the strength.
	L2 float64
	// ValLoss is the validation loss of the fit: the mean over labels of
	// each label's mean binary cross-entropy, or the mean softmax
	// cross-entropy, without the penalty (NaN without a validation split).
	ValLoss float64
	// Iterations is the number of L-BFGS iterations the fit ran.
	Iterations int
	// Converged is false when the fit stopped at MaxIter rather than at a
	// tolerance.
	Converged bool
}

// Probe is a trained linear classifier.
type Probe struct {
	// Task is the problem the probe solves.
	Task Task
	// Outputs is the number of labels (sigmoid tasks) or classes.
	Outputs int
	// Fit is the kept fit: its strength, validation loss, iterations and
	// convergence.
	Fit
	// Selected is true when L2 was chosen on a validation split, false when
	// it is Config.L2's default for want of one.
	Selected bool
	// Path holds every fit, strongest first (one without a validation
	// split).
	Path []Fit

	mean, scale []float32 // x' = (x - mean) * scale
	w           []float64 // K x D
	b           []float64 // K
}

// Train fits a probe on the training split. With a non-empty validation
// split it fits one probe per strength of cfg.L2Grid and keeps the one with
// the lowest validation loss; without one it fits once at cfg.L2 (default
// 1/n). Every fit starts from the previous fit (the first from zero weights)
// and runs to convergence: the initial weights are never returned as they
// are.
func Train(ctx context.Context, train, val Split, cfg Config) (*Probe, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("linear: config: %w", err)
	}
	k := cfg.NumClasses
	if cfg.Task != MultiClass {
		k = train.Y.Cols
		if cfg.Task == Binary && k != 1 {
			return nil, fmt.Errorf("linear: a binary task needs one label column, train has %d", k)
		}
		if k < 1 {
			return nil, fmt.Errorf("linear: train split has no label columns")
		}
	}
	if err := train.check("train", cfg.Task, k, -1, false); err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	d := train.X.Cols
	if err := val.check("validation", cfg.Task, k, d, true); err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	p := &Probe{Task: cfg.Task, Outputs: k}
	p.mean, p.scale = standardizer(train.X, cfg.NoStandardize)
	trainObj := newObjective(cfg.Task, standardized(train, p.mean, p.scale), k, 0)
	if trainObj.used == 0 {
		return nil, fmt.Errorf("linear: train split has no known label")
	}
	grid := []float64{cfg.L2}
	if cfg.L2 == 0 {
		grid[0] = 1 / float64(train.X.Rows)
	}
	var valObj *objective
	if val.X.Rows > 0 {
		valObj = newObjective(cfg.Task, standardized(val, p.mean, p.scale), k, 0)
		if valObj.used == 0 {
			return nil, fmt.Errorf("linear: validation split (%d rows) has no known label to choose the L2 strength on", val.X.Rows)
		}
		grid, p.Selected = cfg.L2Grid, true
	}
	opt := lbfgs{history: cfg.History, maxIter: cfg.MaxIter, gtol: gradTol, ftol: funcTol}
	theta := make([]float64, trainObj.dim())
	var best []float64
	for _, l2 := range grid {
		trainObj.l2 = l2
		f := Fit{L2: l2, ValLoss: math.NaN()}
		if f.Iterations, f.Converged, err = opt.minimize(ctx, trainObj.eval, theta); err != nil {
			return nil, fmt.Errorf("linear: train (l2 %g): %w", l2, err)
		}
		if valObj != nil {
			f.ValLoss = valObj.dataLoss(theta)
		}
		p.Path = append(p.Path, f)
		if best == nil || f.ValLoss < p.ValLoss {
			p.Fit, best = f, append(best[:0], theta...)
		}
	}
	p.w, p.b = best[:k*d], best[k*d:]
	return p, nil
}

// standardizer returns per-feature means and inverse standard deviations
// (population std; constant features get scale 1), or the identity.
func standardizer(x Matrix, identity bool) (mean, scale []float32) {
	mean, scale = make([]float32, x.Cols), make([]float32, x.Cols)
	for j := range scale {
		scale[j] = 1
	}
	if identity || x.Rows == 0 {
		return mean, scale
	}
	sum, sq := make([]float64, x.Cols), make([]float64, x.Cols)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			sum[j] += float64(v)
		}
	}
	for j := range sum {
		sum[j] /= float64(x.Rows)
	}
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			dv := float64(v) - sum[j]
			sq[j] += dv * dv
		}
	}
	for j := range sum {
		mean[j] = float32(sum[j])
		if sd := math.Sqrt(sq[j] / float64(x.Rows)); sd > 1e-12 {
			scale[j] = float32(1 / sd)
		}
	}
	return mean, scale
}

// standardized returns a copy of s whose features are standardised.
func standardized(s Split, mean, scale []float32) Split {
	out := s
	out.X = Matrix{Rows: s.X.Rows, Cols: s.X.Cols, Data: make([]float32, len(s.X.Data))}
	for i := 0; i < s.X.Rows; i++ {
		src, dst := s.X.Row(i), out.X.Row(i)
		for j, v := range src {
			dst[j] = (v - mean[j]) * scale[j]
		}
	}
	return out
}

// Predict returns, for each row of x, the probability of each label
// (sigmoid tasks) or of each class (softmax).
func (p *Probe) Predict(x Matrix) ([][]float32, error) {
	if err := x.check(); err != nil {
		return nil, fmt.Errorf("linear: predict: %w", err)
	}
	d := len(p.mean)
	if x.Rows > 0 && x.Cols != d {
		return nil, fmt.Errorf("linear: predict: features have %d columns, probe was trained on %d", x.Cols, d)
	}
	out := make([][]float32, x.Rows)
	buf := make([]float64, d)
	z := make([]float64, p.Outputs)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			buf[j] = float64((v - p.mean[j]) * p.scale[j])
		}
		for c := range z {
			z[c] = p.b[c] + vec.Dot(p.w[c*d:(c+1)*d], buf)
		}
		out[i] = probabilities(p.Task, z)
	}
	return out, nil
}

func probabilities(task Task, z []float64) []float32 {
	out := make([]float32, len(z))
	if task != MultiClass {
		for c, v := range z {
			out[c] = float32(sigmoid(v))
		}
		return out
	}
	m, s := vec.MaxSumExp(z)
	for c, v := range z {
		out[c] = float32(math.Exp(v-m) / s)
	}
	return out
}
