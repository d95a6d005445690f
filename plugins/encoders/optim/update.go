package optim

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch/ts"
)

// stepConsts are the scalars of one step. gotch's in-place ops have no
// alpha or value argument, so a scaled term is written with addcmul and a
// one-element tensor on the parameters' device holding the factor
// (x.Addcmul_(y, c) is x += y*c, one pass over memory).
type stepConsts struct {
	s torchx.Scope
	// wd is the L2 weight decay (adam, sgd); negLR is -lr (sgd).
	wd, negLR *ts.Tensor
	// Adam's moment updates: m = b1 m + g*(1-b1), v = b2 v + g*g*(1-b2).
	b1, b2 *ts.Scalar
	c1, c2 *ts.Tensor
	// Adam: den' = sqrt(v)*sqrtK + epsK is the denominator
	// sqrt(v)/sqrt(1-b2^t) + eps scaled by -(1-b1^t)/lr, so that
	// p.Addcdiv_(m, den') applies -lr/(1-b1^t) * m / den.
	sqrtK, epsK *ts.Scalar
	// decay is AdamW's decoupled shrink factor 1 - lr*wd.
	decay *ts.Scalar
}

func (k *stepConsts) free() { k.s.Free() }

// consts builds the scalars of the current step on the parameters' device
// and dtype (every parameter of a VarStore shares them).
func (o *Optimizer) consts() (*stepConsts, error) {
	k := &stepConsts{}
	if len(o.names) == 0 {
		return k, nil
	}
	p0 := o.params[o.names[0]]
	dt, dev := p0.DType(), p0.MustDevice()
	full := func(v float64) (*ts.Tensor, error) {
		return k.s.Keep(ts.Full([]int64{1}, k.s.Scalar(v), dt, dev))
	}
	c := o.cfg
	for _, f := range []struct {
		dst **ts.Tensor
		v   float64
	}{{&k.wd, c.WeightDecay}, {&k.negLR, -o.lr}, {&k.c1, 1 - c.Beta1}, {&k.c2, 1 - c.Beta2}} {
		var err error
		if *f.dst, err = full(f.v); err != nil {
			k.free()
			return nil, err
		}
	}
	bc1 := 1 - math.Pow(c.Beta1, float64(o.steps))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.steps))
	scale := -bc1 / o.lr
	k.b1, k.b2 = k.s.Scalar(c.Beta1), k.s.Scalar(c.Beta2)
	k.sqrtK, k.epsK = k.s.Scalar(scale/math.Sqrt(bc2)), k.s.Scalar(c.Eps*scale)
	k.decay = k.s.Scalar(1 - o.lr*c.WeightDecay)
	return k, nil
}

// temp returns scratch buffer i viewed with p's shape, owned by s. The
// buffers are allocated once, as large as the largest parameter, with the
// first parameter's dtype; a parameter of another dtype (or a 0-d one) gets
// a fresh tensor instead.
func (o *Optimizer) temp(s *torchx.Scope, i int, p *ts.Tensor) (*ts.Tensor, error) {
	shape, err := p.Size()
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 || o.scratch[i] != nil && o.scratch[i].DType() != p.DType() {
		return s.Keep(p.EmptyLike(false))
	}
	if o.scratch[i] == nil {
		var most int64
		for _, n := range o.names {
			most = max(most, int64(o.params[n].Numel()))
		}
		if o.scratch[i], err = ts.Empty([]int64{most}, p.DType(), p.MustDevice()); err != nil {
			return nil, fmt.Errorf("scratch buffer: %w", err)
		}
	}
	n := int64(p.Numel())
	flat, err := s.Keep(o.scratch[i].Narrow(0, 0, n, false))
	if err != nil {
		return nil, err
	}
	return s.Keep(flat.View(shape, false))
}

// update applies one step to parameter name. The arithmetic is
// torch.optim's (Adam: L2 decay added to the gradient, bias-corrected
// moments, eps outside the square root), written as fused in-place ops into
// the scratch buffers; the parameter's gradient is not modified.
func (o *Optimizer) update(name string, k *stepConsts) error {
	var s torchx.Scope
	defer s.Free()
	p := o.params[name]
	g, err := s.Keep(p.Grad(false))
	if err != nil {
		return err
	}
	if !g.MustDefined() {
		return nil
	}
	c := o.cfg
	if c.WeightDecay != 0 && c.Name != "adamw" {
		// L2 regularisation folded into the gradient: g + p*wd.
		gw, err := o.temp(&s, 0, p)
		if err != nil {
			return err
		}
		if _, err := s.Keep(g.AddcmulOut(gw, p, k.wd, false)); err != nil {
			return err
		}
		g = gw
	}
	if c.Name == "sgd" {
		return o.sgd(name, p, g, k)
	}
	m, ok := o.m[name]
	if !ok {
		if m, err = g.ZerosLike(false); err != nil {
			return err
		}
		o.m[name] = m
		if o.v[name], err = g.ZerosLike(false); err != nil {
			return err
		}
	}
	v := o.v[name]
	if c.Name == "adamw" && c.WeightDecay != 0 {
		if err := p.MulScalar_(k.decay); err != nil {
			return err
		}
	}
	// m = b1 m + g*(1-b1) ; v = b2 v + g*g*(1-b2)
	if err := m.MulScalar_(k.b1); err != nil {
		return err
	}
	if err := m.Addcmul_(g, k.c1); err != nil {
		return err
	}
	t, err := o.temp(&s, 1, p)
	if err != nil {
		return err
	}
	if _, err := s.Keep(g.MulOut(t, k.c2, false)); err != nil {
		return err
	}
	if err := v.MulScalar_(k.b2); err != nil {
		return err
	}
	if err := v.Addcmul_(g, t); err != nil {
		return err
	}
	if o.lr == 0 {
		// The update is 0; the scaled denominator below would divide by lr.
		return nil
	}
	// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
	if _, err := s.Keep(v.SqrtOut(t, false)); err != nil {
		return err
	}
	if err := t.MulScalar_(k.sqrtK); err != nil {
		return err
	}
	if err := t.AddScalar_(k.epsK); err != nil {
		return err
	}
	return p.Addcdiv_(m, t)
}

// sgd applies p -= lr * (momentum buffer or g).
func (o *Optimizer) sgd(name string, p, g *ts.Tensor, k *stepConsts) error {
	step := g
	if mom := o.cfg.Momentum; mom != 0 {
		buf, ok := o.m[name]
		if !ok {
			var err error
			if buf, err = g.ZerosLike(false); err != nil {
				return err
			}
			o.m[name] = buf
		}
		sc := ts.FloatScalar(mom)
		err := buf.MulScalar_(sc)
		sc.MustDrop()
		if err != nil {
			return err
		}
		if err := buf.Add_(g); err != nil {
			return err
		}
		step = buf
	}
	return p.Addcmul_(step, k.negLR)
}
