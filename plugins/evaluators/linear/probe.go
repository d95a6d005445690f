package linear

import (
	"context"
	"fmt"
	"math"
)

// Config sets the probe's training.
type Config struct {
	// Task is Binary, MultiLabel or MultiClass.
	Task Task `json:"task" yaml:"task" koanf:"task"`
	// NumClasses is the number of classes of a MultiClass task.
	NumClasses int `json:"num_classes" yaml:"num_classes" koanf:"num_classes"`
	// WeightDecay is the L2 penalty (wd/2)||W||^2 added to the mean loss;
	// the bias is not penalised. >= 0.
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay" koanf:"weight_decay"`
	// MaxIter caps the L-BFGS iterations (default 500).
	MaxIter int `json:"max_iter" yaml:"max_iter" koanf:"max_iter"`
	// Patience stops training after this many iterations without a lower
	// validation loss, keeping the best weights (default 20).
	Patience int `json:"patience" yaml:"patience" koanf:"patience"`
	// History is the number of L-BFGS correction pairs (default 10).
	History int `json:"history" yaml:"history" koanf:"history"`
	// NoStandardize turns off the per-feature standardisation.
	NoStandardize bool `json:"no_standardize" yaml:"no_standardize" koanf:"no_standardize"`
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxIter == 0 {
		c.MaxIter = 500
	}
	if c.Patience == 0 {
		c.Patience = 20
	}
	if c.History == 0 {
		c.History = 10
	}
	switch {
	case c.Task != Binary && c.Task != MultiLabel && c.Task != MultiClass:
		return c, fmt.Errorf("task must be %q, %q or %q, got %q", Binary, MultiLabel, MultiClass, c.Task)
	case c.Task == MultiClass && c.NumClasses < 2:
		return c, fmt.Errorf("num_classes must be >= 2 for a multi-class task, got %d", c.NumClasses)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return c, fmt.Errorf("weight_decay must be finite and >= 0, got %v", c.WeightDecay)
	case c.MaxIter < 0 || c.Patience < 0 || c.History < 0:
		return c, fmt.Errorf("max_iter, patience and history must be >= 0 (got %d, %d, %d)", c.MaxIter, c.Patience, c.History)
	}
	return c, nil
}

// Probe is a trained linear classifier.
type Probe struct {
	// Task is the problem the probe solves.
	Task Task
	// Outputs is the number of labels (sigmoid tasks) or classes.
	Outputs int
	// Iterations is the number of L-BFGS iterations run; BestIteration the
	// one whose weights were kept (0: the initial zero weights).
	Iterations, BestIteration int
	// ValLoss is the validation loss of the kept weights (NaN without a
	// validation split).
	ValLoss float64

	mean, scale []float32 // x' = (x - mean) * scale
	w           []float64 // K x D
	b           []float64 // K
}

// Train fits a probe on the training split, stopping early on the loss of
// the validation split (which may be empty: then training runs until
// L-BFGS converges or MaxIter).
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
	p := &Probe{Task: cfg.Task, Outputs: k, ValLoss: math.NaN()}
	p.mean, p.scale = standardizer(train.X, cfg.NoStandardize)
	trainObj := newObjective(cfg.Task, standardized(train, p.mean, p.scale), k, cfg.WeightDecay)
	valObj := newObjective(cfg.Task, standardized(val, p.mean, p.scale), k, 0)

	theta := make([]float64, trainObj.dim())
	best := append([]float64(nil), theta...)
	haveVal := val.X.Rows > 0
	if haveVal {
		p.ValLoss = valObj.eval(theta, nil)
	}
	opt := lbfgs{history: cfg.History, maxIter: cfg.MaxIter, gtol: 1e-6, ftol: 1e-9}
	p.Iterations, err = opt.minimize(ctx, trainObj.eval, theta, func(iter int, x []float64) bool {
		if !haveVal {
			p.BestIteration = iter
			return false
		}
		if vl := valObj.eval(x, nil); vl < p.ValLoss {
			p.ValLoss, p.BestIteration = vl, iter
			copy(best, x)
		}
		return iter-p.BestIteration >= cfg.Patience
	})
	if err != nil {
		return nil, fmt.Errorf("linear: train: %w", err)
	}
	if !haveVal {
		best = theta
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
			z[c] = p.b[c] + dot(p.w[c*d:(c+1)*d], buf)
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
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	for c, v := range z {
		out[c] = float32(math.Exp(v-m) / s)
	}
	return out
}
