package lossparams

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Computing with a loss's own parameters: the captioning decoders and
// GLoRIA's projection build their graphs with these, in the dtype of the
// encoders' outputs (float64 in the gradient checks, float32 in training),
// while the parameters stay float32 and still get their gradients.

// Backprop is one Compute of a loss with parameters p, on the pinned torch
// thread in a fresh scope: it zeroes p's gradients, copies inputs into
// leaves that require gradients, builds the scalar loss with forward (which
// may keep more tensors in s and read metrics off them), back-propagates it
// into the leaves and p, and returns the loss's value and each input's
// gradient in that input's dtype.
func (p *Params) Backprop(inputs []*tensor.Tensor, forward func(s *torchx.Scope, leaves []*ts.Tensor) (*ts.Tensor, error)) (loss float64, grads []*tensor.Tensor, err error) {
	err = torchrt.Pin(func() error {
		var s torchx.Scope
		defer s.Free()
		p.ZeroGrad()
		leaves := make([]*ts.Tensor, len(inputs))
		for i, t := range inputs {
			var err error
			if leaves[i], err = s.FromCore(t, true); err != nil {
				return err
			}
		}
		l, err := forward(&s, leaves)
		if err != nil {
			return err
		}
		loss, grads, err = s.Backward(l, leaves)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return loss, grads, nil
}

// Chain applies each step to the last result, keeping every intermediate
// in s (freed with it), and names the step that failed.
func Chain(s *torchx.Scope, x *ts.Tensor, steps ...func(*ts.Tensor) (*ts.Tensor, error)) (*ts.Tensor, error) {
	for i, f := range steps {
		y, err := s.Keep(f(x))
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i, err)
		}
		x = y
	}
	return x, nil
}

// Split narrows x into n equal parts along dim, each kept in s: the query,
// key and value of a fused projection, or an LSTM's four gates.
func Split(s *torchx.Scope, x *ts.Tensor, dim int64, n int) ([]*ts.Tensor, error) {
	size := x.MustSize()[dim] / int64(n)
	parts := make([]*ts.Tensor, n)
	for k := range parts {
		var err error
		if parts[k], err = s.Keep(x.Narrow(dim, int64(k)*size, size, false)); err != nil {
			return nil, fmt.Errorf("part %d of %d: %w", k, n, err)
		}
	}
	return parts, nil
}

// Cast is parameter p in dtype dt, differentiably: gradients reach p in
// its own dtype.
func Cast(s *torchx.Scope, p *ts.Tensor, dt gotch.DType) (*ts.Tensor, error) {
	return s.Keep(p.Totype(dt, false))
}

// Embedding looks ids up in e's table Cast to dtype dt.
func Embedding(s *torchx.Scope, e *layers.Embedding, ids *ts.Tensor, dt gotch.DType) (*ts.Tensor, error) {
	table, err := Cast(s, e.Weight, dt)
	if err != nil {
		return nil, err
	}
	return s.Keep(ts.Embedding(table, ids, -1, false, false))
}

// Linear applies l to x in x's dtype, its weight and bias Cast.
func Linear(s *torchx.Scope, l *layers.Linear, x *ts.Tensor) (*ts.Tensor, error) {
	w, err := Cast(s, l.Weight, x.DType())
	if err != nil {
		return nil, err
	}
	var b *ts.Tensor
	if l.Bias != nil {
		if b, err = Cast(s, l.Bias, x.DType()); err != nil {
			return nil, err
		}
	}
	return s.Keep(ts.Linear(x, w, b))
}
