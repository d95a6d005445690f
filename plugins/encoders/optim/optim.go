// Package optim holds the optimisers and learning-rate schedules of the
// encoder plugins. They are written on gotch tensors rather than wrapping
// libtorch's C++ optimisers because an encoder's checkpoint must hold the
// full optimiser state (Adam's moments, the step count) by parameter name,
// which gotch does not expose. The updates use fused in-place libtorch ops
// and reusable scratch buffers (update.go), so a step costs about what
// torch.optim's does.
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
	// scratch holds two flat buffers as large as the largest parameter,
	// reused by every update so that a step allocates no tensor memory.
	scratch [2]*ts.Tensor
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

// ZeroGrad clears the gradients of every parameter (in place, as
// torch.optim's zero_grad(set_to_none=False) does).
func (o *Optimizer) ZeroGrad() {
	for _, n := range o.names {
		g, err := o.params[n].Grad(false)
		if err != nil {
			continue
		}
		if g.MustDefined() {
			_ = g.Zero_()
		}
		_ = g.Drop()
	}
}

// Step applies one update from the accumulated gradients, then zeroes them.
// A parameter without a gradient (unused in the forward) is left alone.
func (o *Optimizer) Step() error {
	o.steps++
	var err error
	ts.NoGrad(func() {
		var k *stepConsts
		if k, err = o.consts(); err != nil {
			return
		}
		defer k.free()
		for _, n := range o.names {
			if err = o.update(n, k); err != nil {
				err = fmt.Errorf("update %s: %w", n, err)
				return
			}
		}
	})
	o.ZeroGrad()
	return err
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
