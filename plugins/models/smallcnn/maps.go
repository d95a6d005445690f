package smallcnn

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/ts"
)

// Map runs the network as Forward does and also returns its last feature
// map before pooling [N, 256, H/32, W/32], for losses that attend over
// image regions. pooled equals Forward's output. The caller drops both;
// x is not dropped.
func (m *Model) Map(x *ts.Tensor, train bool) (pooled, fmap *ts.Tensor, err error) {
	var steps []layers.Func
	for i := range m.convs {
		steps = append(steps, m.convs[i].Forward, m.bns[i].Func(train), layers.ReluInPlace, maxPool2)
	}
	fmap, err = layers.Chain(x, steps...)
	if err != nil {
		return nil, nil, fmt.Errorf("smallcnn map: %w", err)
	}
	pooled, err = fmap.MeanDim([]int64{2, 3}, false, fmap.DType(), false)
	if err != nil {
		fmap.MustDrop()
		return nil, nil, fmt.Errorf("smallcnn map: pool: %w", err)
	}
	return pooled, fmap, nil
}
