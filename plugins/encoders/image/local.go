package image

import (
	"errors"
	"fmt"
	"slices"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/resnet"
	"github.com/convirt/convirt/plugins/models/smallcnn"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// input puts the batch's images on dev, in the configured memory format;
// s owns what it creates.
func (n net) input(s *torchx.Scope, b *sdk.Batch, dev gotch.Device) (*ts.Tensor, error) {
	if b.Images == nil {
		return nil, errors.New("image encoder: batch has no images")
	}
	x, err := s.FromCoreOn(b.Images, dev, false)
	if err != nil {
		return nil, err
	}
	if n.channelsLast {
		if x, err = s.Keep(layers.ChannelsLast(x)); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// LocalNames implements torchenc.LocalNet: every network serves its last
// map before pooling (sdk.OutputSpatial); ResNet also its third stage's
// (sdk.OutputConv4, GLoRIA's local features).
func (n net) LocalNames() []string {
	if _, ok := n.m.(*resnet.Model); ok {
		return []string{sdk.OutputSpatial, sdk.OutputConv4}
	}
	return []string{sdk.OutputSpatial}
}

// Local implements torchenc.LocalNet: the pooled features, as Features
// returns them, and the maps names asks for, from one pass.
func (n net) Local(b *sdk.Batch, train bool, dev gotch.Device, names []string) (*ts.Tensor, map[string]*ts.Tensor, error) {
	var s torchx.Scope
	defer s.Free()
	x, err := n.input(&s, b, dev)
	if err != nil {
		return nil, nil, err
	}
	maps := map[string]*ts.Tensor{}
	var pooled *ts.Tensor
	switch m := n.m.(type) {
	case *resnet.Model:
		var conv4, conv5 *ts.Tensor
		if pooled, conv4, conv5, err = m.Maps(x, train); err != nil {
			return nil, nil, err
		}
		maps[sdk.OutputConv4], maps[sdk.OutputSpatial] = conv4, conv5
	case *smallcnn.Model:
		var fmap *ts.Tensor
		if pooled, fmap, err = m.Map(x, train); err != nil {
			return nil, nil, err
		}
		maps[sdk.OutputSpatial] = fmap
	default:
		return nil, nil, fmt.Errorf("image encoder: %T serves no local outputs", n.m)
	}
	for k, v := range maps {
		if !slices.Contains(names, k) {
			v.MustDrop()
			delete(maps, k)
		}
	}
	return pooled, maps, nil
}
