package resnet

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// convBN is a bias-free convolution followed by batch norm, the unit every
// ResNet block is made of.
type convBN struct {
	conv *layers.Conv2d
	bn   *layers.BatchNorm2d
}

func newConvBN(p *nn.Path, conv, bn string, in, out, k, stride, pad int64) (convBN, error) {
	c, err := layers.NewConv2d(p.Sub(conv), in, out, k, stride, pad, false, layers.KaimingNormalFanOut(out, k))
	if err != nil {
		return convBN{}, err
	}
	b, err := layers.NewBatchNorm2d(p.Sub(bn), out)
	if err != nil {
		return convBN{}, err
	}
	return convBN{conv: c, bn: b}, nil
}

func (u convBN) funcs(train bool) []layers.Func {
	return []layers.Func{u.conv.Forward, u.bn.Func(train)}
}

// downsample is torchvision's layerX.0.downsample: conv1x1 (index 0) + BN
// (index 1), or nil when the shortcut is the identity.
func newDownsample(p *nn.Path, in, out, stride int64) (*convBN, error) {
	if stride == 1 && in == out {
		return nil, nil
	}
	d, err := newConvBN(p.Sub("downsample"), "0", "1", in, out, 1, stride, 0)
	if err != nil {
		return nil, fmt.Errorf("downsample: %w", err)
	}
	return &d, nil
}

// residualBlock is a residual block's forward: convs in order with a ReLU
// in place between each two, then the shortcut of x added (residual).
func residualBlock(x *ts.Tensor, down *convBN, train bool, convs ...convBN) (*ts.Tensor, error) {
	var steps []layers.Func
	for i, c := range convs {
		if i > 0 {
			steps = append(steps, layers.ReluInPlace)
		}
		steps = append(steps, c.funcs(train)...)
	}
	out, err := layers.Chain(x, steps...)
	if err != nil {
		return nil, err
	}
	if _, err := residual(x, out, down, train); err != nil {
		out.MustDrop()
		return nil, err
	}
	return out, nil
}

// residual adds the shortcut of x to out in place and applies ReLU in place,
// as torchvision does; out is returned.
func residual(x, out *ts.Tensor, down *convBN, train bool) (*ts.Tensor, error) {
	identity := x
	if down != nil {
		var err error
		if identity, err = layers.Chain(x, down.funcs(train)...); err != nil {
			return nil, fmt.Errorf("downsample: %w", err)
		}
		defer identity.MustDrop()
	}
	if err := out.Add_(identity); err != nil {
		return nil, fmt.Errorf("residual add: %w", err)
	}
	if err := out.Relu_(); err != nil {
		return nil, fmt.Errorf("residual relu: %w", err)
	}
	return out, nil
}

// basic is ResNet-18's BasicBlock: two 3x3 convolutions.
type basic struct {
	c1, c2 convBN
	down   *convBN
}

func newBasic(p *nn.Path, in, planes, stride int64) (*basic, error) {
	var b basic
	var err error
	if b.c1, err = newConvBN(p, "conv1", "bn1", in, planes, 3, stride, 1); err != nil {
		return nil, err
	}
	if b.c2, err = newConvBN(p, "conv2", "bn2", planes, planes, 3, 1, 1); err != nil {
		return nil, err
	}
	if b.down, err = newDownsample(p, in, planes, stride); err != nil {
		return nil, err
	}
	return &b, nil
}

func (b *basic) forward(x *ts.Tensor, train bool) (*ts.Tensor, error) {
	return residualBlock(x, b.down, train, b.c1, b.c2)
}

// bottleneck is ResNet-50's Bottleneck (v1.5): 1x1, 3x3 with the stride,
// 1x1 expanding by 4.
type bottleneck struct {
	c1, c2, c3 convBN
	down       *convBN
}

func newBottleneck(p *nn.Path, in, planes, stride int64) (*bottleneck, error) {
	var b bottleneck
	var err error
	if b.c1, err = newConvBN(p, "conv1", "bn1", in, planes, 1, 1, 0); err != nil {
		return nil, err
	}
	if b.c2, err = newConvBN(p, "conv2", "bn2", planes, planes, 3, stride, 1); err != nil {
		return nil, err
	}
	if b.c3, err = newConvBN(p, "conv3", "bn3", planes, planes*4, 1, 1, 0); err != nil {
		return nil, err
	}
	if b.down, err = newDownsample(p, in, planes*4, stride); err != nil {
		return nil, err
	}
	return &b, nil
}

func (b *bottleneck) forward(x *ts.Tensor, train bool) (*ts.Tensor, error) {
	return residualBlock(x, b.down, train, b.c1, b.c2, b.c3)
}
