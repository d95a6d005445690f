// Package optim holds the optimisers and learning-rate schedules of the
// encoder plugins. They are written on gotch tensors rather than wrapping
// libtorch's C++ optimisers because an encoder's checkpoint must hold the
// full optimiser state (Adam's moments, the step count) by parameter name,
// which gotch does not expose.
package optim

import (
	"fmt"
	"math"
	"sort"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Config selects and tunes an optimiser.
type Config struct {
	Name        string  // "adam" (L2 weight decay, as the paper), "adamw" or "sgd"
	LR          float64 // learning rate
	WeightDecay float64
	Beta1       float64 // default 0.9
	Beta2       float64 // default 0.999
	Eps         float64 // default 1e-8
	Momentum    float64 // SGD only
}

// Optimizer updates the trainable variables of a VarStore.
type Optimizer struct {
	cfg    Config
	names  []string              // trainable parameters, sorted
	params map[string]*ts.Tensor // name -> parameter
	m, v   map[string]*ts.Tensor // Adam moments or SGD momentum (m)
	steps  int64
	lr     float64 // current learning rate (schedules change it)
}

// New builds an optimiser over vs's trainable variables (those with
// requires_grad; frozen ones are skipped).
func New(vs *nn.VarStore, cfg Config) (*Optimizer, error) {
	switch cfg.Name {
	case "", "adam", "adamw", "sgd":
	default:
		return nil, fmt.Errorf("optimizer %q: want adam, adamw or sgd", cfg.Name)
	}
	if cfg.Name == "" {
		cfg.Name = "adam"
	}
	if cfg.LR <= 0 || math.IsNaN(cfg.LR) {
		return nil, fmt.Errorf("optimizer: lr must be positive, got %v", cfg.LR)
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	o := &Optimizer{cfg: cfg, params: map[string]*ts.Tensor{}, m: map[string]*ts.Tensor{}, v: map[string]*ts.Tensor{}, lr: cfg.LR}
	vars := vs.Variables()
	for name, t := range vars {
		t := t
		if !t.MustRequiresGrad() {
			continue
		}
		o.names = append(o.names, name)
		o.params[name] = &t
	}
	sort.Strings(o.names)
	return o, nil
}

// Names lists the parameters the optimiser updates.
func (o *Optimizer) Names() []string { return o.names }

// LR is the current learning rate.
func (o *Optimizer) LR() float64 { return o.lr }

// SetLR changes the learning rate (used by schedules).
func (o *Optimizer) SetLR(lr float64) { o.lr = lr }

// Steps is the number of updates applied.
func (o *Optimizer) Steps() int64 { return o.steps }

// ZeroGrad clears the gradients of every parameter.
func (o *Optimizer) ZeroGrad() {
	for _, n := range o.names {
		o.params[n].ZeroGrad()
	}
}

// Step applies one update from the accumulated gradients, then zeroes them.
// A parameter without a gradient (unused in the forward) is left alone.
func (o *Optimizer) Step() error {
	o.steps++
	var err error
	ts.NoGrad(func() {
		for _, n := range o.names {
			if err = o.update(n); err != nil {
				err = fmt.Errorf("update %s: %w", n, err)
				return
			}
		}
	})
	o.ZeroGrad()
	return err
}

func (o *Optimizer) update(name string) error {
	p := o.params[name]
	g, err := p.Grad(false)
	if err != nil {
		return err
	}
	defer g.MustDrop()
	if !g.MustDefined() {
		return nil
	}
	c := o.cfg
	if c.WeightDecay != 0 && c.Name != "adamw" {
		// L2 regularisation folded into the gradient: g + wd * p.
		wd := p.MustMulScalar(ts.FloatScalar(c.WeightDecay), false)
		g2 := g.MustAdd(wd, false)
		wd.MustDrop()
		g.MustDrop()
		g = g2
	}
	if c.Name == "sgd" {
		step := g
		if c.Momentum != 0 {
			buf, ok := o.m[name]
			if !ok {
				buf = g.MustZerosLike(false)
				o.m[name] = buf
			}
			buf.MustMulScalar_(ts.FloatScalar(c.Momentum))
			buf.MustAdd_(g)
			step = buf
		}
		d := step.MustMulScalar(ts.FloatScalar(-o.lr), false)
		p.MustAdd_(d)
		d.MustDrop()
		return nil
	}
	m, ok := o.m[name]
	if !ok {
		m = g.MustZerosLike(false)
		o.m[name] = m
		o.v[name] = g.MustZerosLike(false)
	}
	v := o.v[name]
	if c.Name == "adamw" && c.WeightDecay != 0 {
		p.MustMulScalar_(ts.FloatScalar(1 - o.lr*c.WeightDecay))
	}
	// m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2
	m.MustMulScalar_(ts.FloatScalar(c.Beta1))
	gs := g.MustMulScalar(ts.FloatScalar(1-c.Beta1), false)
	m.MustAdd_(gs)
	gs.MustDrop()
	v.MustMulScalar_(ts.FloatScalar(c.Beta2))
	g2 := g.MustMul(g, false)
	g2.MustMulScalar_(ts.FloatScalar(1 - c.Beta2))
	v.MustAdd_(g2)
	g2.MustDrop()
	// p -= lr/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps)
	bc1 := 1 - math.Pow(c.Beta1, float64(o.steps))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.steps))
	den := v.MustDivScalar(ts.FloatScalar(bc2), false)
	den.MustSqrt_()
	den.MustAddScalar_(ts.FloatScalar(c.Eps))
	upd := m.MustDiv(den, false)
	den.MustDrop()
	upd.MustMulScalar_(ts.FloatScalar(-o.lr / bc1))
	p.MustAdd_(upd)
	upd.MustDrop()
	return nil
}

// State returns the optimiser's tensors by name ("m/NAME", "v/NAME") and its
// scalars, for checkpoints.
func (o *Optimizer) State() (map[string]*ts.Tensor, map[string]float64) {
	t := map[string]*ts.Tensor{}
	for n, x := range o.m {
		t["m/"+n] = x
	}
	for n, x := range o.v {
		t["v/"+n] = x
	}
	return t, map[string]float64{"steps": float64(o.steps), "lr": o.lr}
}

// SetState restores what State returned; tensors are copied.
func (o *Optimizer) SetState(tensors map[string]*ts.Tensor, scalars map[string]float64) error {
	m, v := map[string]*ts.Tensor{}, map[string]*ts.Tensor{}
	for key, x := range tensors {
		var dst map[string]*ts.Tensor
		var name string
		switch {
		case len(key) > 2 && key[:2] == "m/":
			dst, name = m, key[2:]
		case len(key) > 2 && key[:2] == "v/":
			dst, name = v, key[2:]
		default:
			return fmt.Errorf("optimizer state: unexpected tensor %q", key)
		}
		p, ok := o.params[name]
		if !ok {
			return fmt.Errorf("optimizer state: %q is not a trainable parameter", name)
		}
		if fmt.Sprint(p.MustSize()) != fmt.Sprint(x.MustSize()) {
			return fmt.Errorf("optimizer state %q: shape %v, parameter has %v", key, x.MustSize(), p.MustSize())
		}
		c := p.MustZerosLike(false)
		ts.NoGrad(func() { c.Copy_(x) })
		dst[name] = c
	}
	o.m, o.v = m, v
	o.steps = int64(scalars["steps"])
	if lr, ok := scalars["lr"]; ok && lr > 0 {
		o.lr = lr
	}
	return nil
}
