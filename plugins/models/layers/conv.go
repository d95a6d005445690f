package layers

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Conv2d is a 2-D convolution with square kernels, named like torch.nn.Conv2d
// (weight [out, in, k, k], optional bias [out]).
type Conv2d struct {
	Weight  *ts.Tensor
	Bias    *ts.Tensor // nil without bias
	Stride  int64
	Padding int64
}

// NewConv2d creates a Conv2d under p with weight initialised by init and a
// zero bias when bias is true.
func NewConv2d(p *nn.Path, in, out, k, stride, padding int64, bias bool, init Init) (*Conv2d, error) {
	w, err := Param(p, "weight", []int64{out, in, k, k}, init, false)
	if err != nil {
		return nil, err
	}
	c := &Conv2d{Weight: w, Stride: stride, Padding: padding}
	if bias {
		if c.Bias, err = Param(p, "bias", []int64{out}, Const(0), false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Forward convolves x of shape [N, in, H, W].
func (c *Conv2d) Forward(x *ts.Tensor) (*ts.Tensor, error) {
	b := c.Bias
	if b == nil {
		b = ts.None
	}
	y, err := ts.Conv2d(x, c.Weight, b, []int64{c.Stride, c.Stride}, []int64{c.Padding, c.Padding}, []int64{1, 1}, 1)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	return y, nil
}

// BatchNorm2d is torch.nn.BatchNorm2d with affine parameters and running
// statistics (weight, bias, running_mean, running_var, num_batches_tracked).
type BatchNorm2d struct {
	Weight, Bias            *ts.Tensor
	RunningMean, RunningVar *ts.Tensor
	NumBatchesTracked       *ts.Tensor // int64 scalar, as in PyTorch's state_dict
	Momentum, Eps           float64
}

// NewBatchNorm2d creates a BatchNorm2d over c channels under p, initialised
// as PyTorch does (weight 1, bias 0, mean 0, var 1).
func NewBatchNorm2d(p *nn.Path, c int64) (*BatchNorm2d, error) {
	bn := &BatchNorm2d{Momentum: 0.1, Eps: 1e-5}
	var err error
	if bn.Weight, err = Param(p, "weight", []int64{c}, Const(1), false); err != nil {
		return nil, err
	}
	if bn.Bias, err = Param(p, "bias", []int64{c}, Const(0), false); err != nil {
		return nil, err
	}
	if bn.RunningMean, err = Buffer(p, "running_mean", []int64{c}, gotch.Float, 0); err != nil {
		return nil, err
	}
	if bn.RunningVar, err = Buffer(p, "running_var", []int64{c}, gotch.Float, 1); err != nil {
		return nil, err
	}
	if bn.NumBatchesTracked, err = Buffer(p, "num_batches_tracked", []int64{}, gotch.Int64, 0); err != nil {
		return nil, err
	}
	return bn, nil
}

// Forward normalises x with batch statistics (updating the running ones)
// when train is true, and with the running statistics otherwise.
func (bn *BatchNorm2d) Forward(x *ts.Tensor, train bool) (*ts.Tensor, error) {
	y, err := ts.BatchNorm(x, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, train, bn.Momentum, bn.Eps, true)
	if err != nil {
		return nil, fmt.Errorf("batch_norm: %w", err)
	}
	if train {
		one := ts.IntScalar(1)
		err := bn.NumBatchesTracked.AddScalar_(one)
		one.MustDrop()
		if err != nil {
			y.MustDrop()
			return nil, fmt.Errorf("batch_norm: count batches: %w", err)
		}
	}
	return y, nil
}

// Func returns Forward as a Func for Chain.
func (bn *BatchNorm2d) Func(train bool) Func {
	return func(x *ts.Tensor) (*ts.Tensor, error) { return bn.Forward(x, train) }
}

// ChannelsLast returns x ([N, C, H, W]) copied into the channels-last memory
// format (torch.channels_last: strides [H*W*C, 1, W*C, C]), the same shape
// and values laid out pixel by pixel. oneDNN's convolutions take the layout
// of their input, so a network fed channels-last images computes its
// convolutions, batch norms and activations in it (measured in
// docs/performance.md). gotch has no memory-format argument; the two
// permutations around a contiguous copy give the same strides.
func ChannelsLast(x *ts.Tensor) (*ts.Tensor, error) {
	nhwc, err := x.Permute([]int64{0, 2, 3, 1}, false)
	if err != nil {
		return nil, fmt.Errorf("channels last: %w", err)
	}
	c, err := nhwc.Contiguous(true)
	if err != nil {
		return nil, fmt.Errorf("channels last: %w", err)
	}
	y, err := c.Permute([]int64{0, 3, 1, 2}, true)
	if err != nil {
		return nil, fmt.Errorf("channels last: %w", err)
	}
	return y, nil
}
