// Package layers holds the neural network building blocks shared by the
// models in plugins/models: convolution, batch and layer normalisation,
// linear and embedding layers whose parameters carry PyTorch's names
// (weight, bias, running_mean, running_var, num_batches_tracked), plus the
// tensor ownership helpers that keep resident memory flat.
//
// Ownership rule: a layer's Forward never drops its input; the caller owns
// both the input and the returned tensor. Chain applies several steps and
// drops each intermediate, which is safe under autograd because the graph
// keeps its own references to the tensors it needs.
package layers

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Func is one step of a forward pass. It must not drop its input.
type Func func(x *ts.Tensor) (*ts.Tensor, error)

// Chain applies fs in order starting from x, dropping every intermediate
// result. x itself is left alone; the last result is returned to the caller.
func Chain(x *ts.Tensor, fs ...Func) (*ts.Tensor, error) {
	cur := x
	for i, f := range fs {
		next, err := f(cur)
		if cur != x {
			cur.MustDrop()
		}
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i, err)
		}
		cur = next
	}
	if cur == x {
		return nil, errors.New("layers.Chain: no steps")
	}
	return cur, nil
}

// Drop frees the C memory of every non-nil tensor in xs.
func Drop(xs ...*ts.Tensor) {
	for _, x := range xs {
		if x != nil {
			x.MustDrop()
		}
	}
}

// Relu is a Func applying max(x, 0).
func Relu(x *ts.Tensor) (*ts.Tensor, error) { return x.Relu(false) }

// ReluInPlace is a Func applying max(x, 0) in place, as torchvision's
// ReLU(inplace=True) does: it saves allocating and writing a new tensor.
// Unlike other Funcs it changes its input, so use it inside a Chain, on an
// intermediate that nothing else reads and whose producer's backward does not
// need it (batch norm's and linear's backward keep their inputs, not their
// outputs). It returns a new handle to x, so the caller drops both.
func ReluInPlace(x *ts.Tensor) (*ts.Tensor, error) {
	if err := x.Relu_(); err != nil {
		return nil, err
	}
	return x.ShallowClone()
}

// Param creates a float32 tensor of the given shape on p's device, fills it
// with init and stores it under name. A frozen parameter is stored with
// requires_grad false and marked non-trainable, so optimisers built from the
// VarStore skip it.
func Param(p *nn.Path, name string, dims []int64, init Init, frozen bool) (*ts.Tensor, error) {
	t, err := empty(dims, gotch.Float, p.Device())
	if err != nil {
		return nil, fmt.Errorf("param %s: %w", name, err)
	}
	defer t.MustDrop()
	if err := init(t); err != nil {
		return nil, fmt.Errorf("param %s: init: %w", name, err)
	}
	v, err := p.Add(name, t, !frozen)
	if err != nil {
		return nil, fmt.Errorf("param %s: %w", name, err)
	}
	return v, nil
}

// Buffer stores a non-trainable, persistent tensor (such as a running mean)
// under name.
func Buffer(p *nn.Path, name string, dims []int64, dtype gotch.DType, value float64) (*ts.Tensor, error) {
	t, err := empty(dims, dtype, p.Device())
	if err != nil {
		return nil, fmt.Errorf("buffer %s: %w", name, err)
	}
	defer t.MustDrop()
	if err := Const(value)(t); err != nil {
		return nil, fmt.Errorf("buffer %s: %w", name, err)
	}
	v, err := p.Add(name, t, false, nn.WithVarType("buffer"))
	if err != nil {
		return nil, fmt.Errorf("buffer %s: %w", name, err)
	}
	return v, nil
}

// Init fills a freshly allocated tensor in place.
type Init func(t *ts.Tensor) error

// Const fills with v.
func Const(v float64) Init {
	return func(t *ts.Tensor) error {
		s := ts.FloatScalar(v)
		defer s.MustDrop()
		return t.Fill_(s)
	}
}

// Normal fills with samples of N(0, std^2).
func Normal(std float64) Init {
	return func(t *ts.Tensor) error { return t.Normal_(0, std) }
}

// Uniform fills with samples of U(-bound, bound).
func Uniform(bound float64) Init {
	return func(t *ts.Tensor) error { return t.Uniform_(-bound, bound) }
}

// KaimingNormalFanOut is torchvision's convolution init:
// kaiming_normal_(mode="fan_out", nonlinearity="relu") for a weight of shape
// [out, in, k, k].
func KaimingNormalFanOut(out, k int64) Init {
	return Normal(math.Sqrt(2.0 / float64(out*k*k)))
}

// empty allocates an uninitialised tensor; a 0-dim shape (a scalar, which
// gotch's Empty cannot express) is made by squeezing a one-element tensor.
func empty(dims []int64, dtype gotch.DType, dev gotch.Device) (*ts.Tensor, error) {
	if len(dims) > 0 {
		return ts.Empty(dims, dtype, dev)
	}
	t, err := ts.Empty([]int64{1}, dtype, dev)
	if err != nil {
		return nil, err
	}
	return t.Squeeze(true)
}

// At returns the sub-path of p named by a dotted path such as
// "attention.self.query".
//
// gotch's Path.Sub appends to its parent's slice, so two sub-paths of one
// parent can share storage and the later one renames the earlier. Create a
// path with At (or Sub) right before adding its variables, never keep
// sibling paths around to use later.
func At(p *nn.Path, dotted string) *nn.Path {
	for _, name := range strings.Split(dotted, ".") {
		p = p.Sub(name)
	}
	return p
}
