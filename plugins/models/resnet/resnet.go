// Package resnet implements torchvision's ResNet-18 and ResNet-50 (v1.5:
// the stride of a bottleneck sits on its 3x3 convolution) on gotch, with
// parameter and buffer names identical to torchvision's state_dict, so
// weights exported from torchvision load by name.
//
// Forward returns the global-average-pooled features (512 for ResNet-18,
// 2048 for ResNet-50); the optional fc classifier is applied by Logits.
package resnet

import (
	"fmt"
	"strconv"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Arch names a ResNet depth.
type Arch string

// Supported architectures.
const (
	ResNet18 Arch = "resnet18"
	ResNet50 Arch = "resnet50"
)

// Config selects the network.
type Config struct {
	Arch Arch
	// InChannels is 3 for RGB (torchvision) or 1 for grayscale; default 3.
	InChannels int64
	// NumClasses adds fc.weight/fc.bias when positive.
	NumClasses int64
}

// Model is a ResNet whose variables live in the VarStore path it was built on.
type Model struct {
	cfg     Config
	conv1   *layers.Conv2d
	bn1     *layers.BatchNorm2d
	stages  [4][]block
	fc      *layers.Linear
	featDim int64
}

type block interface {
	forward(x *ts.Tensor, train bool) (*ts.Tensor, error)
}

// New builds the model under p. Weights are initialised as torchvision does
// (Kaiming-normal convolutions, unit batch-norm scales).
func New(p *nn.Path, cfg Config) (*Model, error) {
	if cfg.InChannels == 0 {
		cfg.InChannels = 3
	}
	if cfg.InChannels < 0 || cfg.NumClasses < 0 {
		return nil, fmt.Errorf("resnet: invalid config %+v", cfg)
	}
	var depths [4]int
	var bottleneck bool
	switch cfg.Arch {
	case ResNet18:
		depths = [4]int{2, 2, 2, 2}
	case ResNet50:
		depths, bottleneck = [4]int{3, 4, 6, 3}, true
	default:
		return nil, fmt.Errorf("resnet: unknown arch %q (want %q or %q)", cfg.Arch, ResNet18, ResNet50)
	}
	m := &Model{cfg: cfg}
	var err error
	if m.conv1, err = layers.NewConv2d(p.Sub("conv1"), cfg.InChannels, 64, 7, 2, 3, false, layers.KaimingNormalFanOut(64, 7)); err != nil {
		return nil, fmt.Errorf("resnet: %w", err)
	}
	if m.bn1, err = layers.NewBatchNorm2d(p.Sub("bn1"), 64); err != nil {
		return nil, fmt.Errorf("resnet: %w", err)
	}
	in := int64(64)
	for s, n := range depths {
		planes := int64(64) << s
		stage := p.Sub("layer" + strconv.Itoa(s+1))
		for i := 0; i < n; i++ {
			stride := int64(1)
			if i == 0 && s > 0 {
				stride = 2
			}
			bp := stage.Sub(strconv.Itoa(i))
			var b block
			if bottleneck {
				b, err = newBottleneck(bp, in, planes, stride)
				in = planes * 4
			} else {
				b, err = newBasic(bp, in, planes, stride)
				in = planes
			}
			if err != nil {
				return nil, fmt.Errorf("resnet: layer%d.%d: %w", s+1, i, err)
			}
			m.stages[s] = append(m.stages[s], b)
		}
	}
	m.featDim = in
	if cfg.NumClasses > 0 {
		if m.fc, err = layers.NewLinear(p.Sub("fc"), in, cfg.NumClasses, nil, false); err != nil {
			return nil, fmt.Errorf("resnet: fc: %w", err)
		}
	}
	return m, nil
}

// FeatureDim is the size of the pooled features: 512 or 2048.
func (m *Model) FeatureDim() int64 { return m.featDim }

// Forward maps images [N, InChannels, H, W] to pooled features
// [N, FeatureDim]. train selects batch statistics in batch norm (and updates
// the running ones). x is not dropped.
func (m *Model) Forward(x *ts.Tensor, train bool) (*ts.Tensor, error) {
	steps := []layers.Func{
		m.conv1.Forward,
		m.bn1.Func(train),
		layers.ReluInPlace,
		func(t *ts.Tensor) (*ts.Tensor, error) {
			return t.MaxPool2d([]int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false, false)
		},
	}
	for _, stage := range m.stages {
		for _, b := range stage {
			steps = append(steps, func(t *ts.Tensor) (*ts.Tensor, error) { return b.forward(t, train) })
		}
	}
	steps = append(steps, func(t *ts.Tensor) (*ts.Tensor, error) {
		return t.MeanDim([]int64{2, 3}, false, t.DType(), false)
	})
	y, err := layers.Chain(x, steps...)
	if err != nil {
		return nil, fmt.Errorf("resnet %s forward: %w", m.cfg.Arch, err)
	}
	return y, nil
}

// Logits applies fc to pooled features; it fails when the model was built
// without classes.
func (m *Model) Logits(features *ts.Tensor) (*ts.Tensor, error) {
	if m.fc == nil {
		return nil, fmt.Errorf("resnet %s: built without fc (NumClasses 0)", m.cfg.Arch)
	}
	return m.fc.Forward(features)
}
