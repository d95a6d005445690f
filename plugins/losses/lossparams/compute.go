package lossparams

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Computing with a loss's own parameters: the captioning decoders and
// GLoRIA's projection build their graphs with these, in the dtype of the
// encoders' outputs (float64 in the gradient checks, float32 in training),
// while the parameters stay float32 and still get their gradients.

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
