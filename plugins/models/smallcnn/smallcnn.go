// Package smallcnn is the 5-block convolutional image encoder used by the
// CPU demo: each block is conv3x3 + batch norm + ReLU followed by a 2x2 max
// pool, with 16, 32, 64, 128 and 256 channels, then global average pooling.
// On 64x64 grayscale input the last block sees 4x4 maps and the features
// are 256-d.
package smallcnn

import (
	"fmt"
	"strconv"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Channels are the output channels of the five blocks.
var Channels = []int64{16, 32, 64, 128, 256}

// Config selects the input channels (default 1, grayscale).
type Config struct {
	InChannels int64
}

// Model is the 5-block CNN. Variables are named blocks.N.conv.weight,
// blocks.N.conv.bias, blocks.N.bn.{weight,bias,running_mean,running_var,
// num_batches_tracked}.
type Model struct {
	convs []*layers.Conv2d
	bns   []*layers.BatchNorm2d
}

// New builds the model under p.
func New(p *nn.Path, cfg Config) (*Model, error) {
	in := cfg.InChannels
	if in == 0 {
		in = 1
	}
	if in < 0 {
		return nil, fmt.Errorf("smallcnn: negative InChannels %d", in)
	}
	m := &Model{}
	for i, out := range Channels {
		bp := p.Sub("blocks").Sub(strconv.Itoa(i))
		c, err := layers.NewConv2d(bp.Sub("conv"), in, out, 3, 1, 1, true, layers.KaimingNormalFanOut(out, 3))
		if err != nil {
			return nil, fmt.Errorf("smallcnn: block %d: %w", i, err)
		}
		bn, err := layers.NewBatchNorm2d(bp.Sub("bn"), out)
		if err != nil {
			return nil, fmt.Errorf("smallcnn: block %d: %w", i, err)
		}
		m.convs, m.bns = append(m.convs, c), append(m.bns, bn)
		in = out
	}
	return m, nil
}

// FeatureDim is the size of the pooled features (256).
func (m *Model) FeatureDim() int64 { return Channels[len(Channels)-1] }

// Forward maps images [N, C, H, W] (H and W multiples of 32 work best) to
// features [N, 256]. x is not dropped.
func (m *Model) Forward(x *ts.Tensor, train bool) (*ts.Tensor, error) {
	var steps []layers.Func
	for i := range m.convs {
		steps = append(steps, m.convs[i].Forward, m.bns[i].Func(train), layers.ReluInPlace, maxPool2)
	}
	steps = append(steps, func(t *ts.Tensor) (*ts.Tensor, error) {
		return t.MeanDim([]int64{2, 3}, false, t.DType(), false)
	})
	y, err := layers.Chain(x, steps...)
	if err != nil {
		return nil, fmt.Errorf("smallcnn forward: %w", err)
	}
	return y, nil
}

func maxPool2(t *ts.Tensor) (*ts.Tensor, error) {
	return t.MaxPool2d([]int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false, false)
}
