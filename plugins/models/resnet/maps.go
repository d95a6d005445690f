package resnet

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/ts"
)

// Maps runs the network as Forward does and also keeps two feature maps
// for losses that align image regions with words: conv4, the third
// stage's output [N, C4, H/16, W/16] (1024 channels for ResNet-50, the map
// GLoRIA attends over), and conv5, the last stage's output before pooling
// [N, FeatureDim, H/32, W/32]. pooled equals Forward's output. The caller
// drops all three; x is not dropped.
func (m *Model) Maps(x *ts.Tensor, train bool) (pooled, conv4, conv5 *ts.Tensor, err error) {
	cur, err := layers.Chain(x,
		m.conv1.Forward,
		m.bn1.Func(train),
		layers.ReluInPlace,
		func(t *ts.Tensor) (*ts.Tensor, error) {
			return t.MaxPool2d([]int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false, false)
		},
	)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("resnet %s maps: stem: %w", m.cfg.Arch, err)
	}
	for si, stage := range m.stages {
		for bi, b := range stage {
			next, err := b.forward(cur, train)
			if cur != conv4 {
				cur.MustDrop()
			}
			if err != nil {
				layers.Drop(conv4)
				return nil, nil, nil, fmt.Errorf("resnet %s maps: stage %d block %d: %w", m.cfg.Arch, si+1, bi, err)
			}
			cur = next
		}
		if si == 2 {
			conv4 = cur
		}
	}
	pooled, err = cur.MeanDim([]int64{2, 3}, false, cur.DType(), false)
	if err != nil {
		layers.Drop(conv4, cur)
		return nil, nil, nil, fmt.Errorf("resnet %s maps: pool: %w", m.cfg.Arch, err)
	}
	return pooled, conv4, cur, nil
}

// Conv4Channels is the channel count of Maps' conv4 map: 1024 for
// ResNet-50, 256 for ResNet-18.
func (m *Model) Conv4Channels() int64 {
	if m.cfg.Arch == ResNet18 {
		return 256
	}
	return 1024
}
