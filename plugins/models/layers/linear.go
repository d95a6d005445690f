package layers

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Linear is torch.nn.Linear: y = x W^T + b with weight [out, in] and bias
// [out].
type Linear struct {
	Weight, Bias *ts.Tensor
}

// NewLinear creates a Linear under p. A nil init gives PyTorch's default
// (weight and bias uniform in +-1/sqrt(in)); otherwise the weight uses init
// and the bias starts at zero, as Hugging Face's BERT does. frozen stores
// both with requires_grad false.
func NewLinear(p *nn.Path, in, out int64, init Init, frozen bool) (*Linear, error) {
	bound := 1 / math.Sqrt(float64(in))
	wInit, bInit := Uniform(bound), Uniform(bound)
	if init != nil {
		wInit, bInit = init, Const(0)
	}
	w, err := Param(p, "weight", []int64{out, in}, wInit, frozen)
	if err != nil {
		return nil, err
	}
	b, err := Param(p, "bias", []int64{out}, bInit, frozen)
	if err != nil {
		return nil, err
	}
	return &Linear{Weight: w, Bias: b}, nil
}

// Forward applies the layer to x of shape [..., in].
func (l *Linear) Forward(x *ts.Tensor) (*ts.Tensor, error) {
	y, err := ts.Linear(x, l.Weight, l.Bias)
	if err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	return y, nil
}

// LayerNorm is torch.nn.LayerNorm over the last dimension.
type LayerNorm struct {
	Weight, Bias *ts.Tensor
	Dim          int64
	Eps          float64
}

// NewLayerNorm creates a LayerNorm over dim features (weight 1, bias 0).
func NewLayerNorm(p *nn.Path, dim int64, eps float64, frozen bool) (*LayerNorm, error) {
	w, err := Param(p, "weight", []int64{dim}, Const(1), frozen)
	if err != nil {
		return nil, err
	}
	b, err := Param(p, "bias", []int64{dim}, Const(0), frozen)
	if err != nil {
		return nil, err
	}
	return &LayerNorm{Weight: w, Bias: b, Dim: dim, Eps: eps}, nil
}

// Forward normalises the last dimension of x.
func (ln *LayerNorm) Forward(x *ts.Tensor) (*ts.Tensor, error) {
	y, err := ts.LayerNorm(x, []int64{ln.Dim}, ln.Weight, ln.Bias, ln.Eps, true)
	if err != nil {
		return nil, fmt.Errorf("layer_norm: %w", err)
	}
	return y, nil
}

// Embedding is torch.nn.Embedding: a lookup table of shape [n, dim].
type Embedding struct {
	Weight *ts.Tensor
}

// NewEmbedding creates an n x dim table initialised with init.
func NewEmbedding(p *nn.Path, n, dim int64, init Init, frozen bool) (*Embedding, error) {
	w, err := Param(p, "weight", []int64{n, dim}, init, frozen)
	if err != nil {
		return nil, err
	}
	return &Embedding{Weight: w}, nil
}

// Forward looks up the int64 ids in x.
func (e *Embedding) Forward(ids *ts.Tensor) (*ts.Tensor, error) {
	y, err := ts.Embedding(e.Weight, ids, -1, false, false)
	if err != nil {
		return nil, fmt.Errorf("embedding: %w", err)
	}
	return y, nil
}
