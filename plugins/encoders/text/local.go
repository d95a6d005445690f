package text

import (
	"errors"
	"slices"

	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// tokens tokenises the batch's texts into ids and mask (int64 [N, L]) on
// dev; s owns them.
func (n net) tokens(s *torchx.Scope, b *sdk.Batch, dev gotch.Device) (ids, mask *ts.Tensor, err error) {
	if len(b.Texts) == 0 {
		return nil, nil, errors.New("text encoder: batch has no texts")
	}
	enc, err := n.tok.Encode(b.Texts, n.maxLen)
	if err != nil {
		return nil, nil, err
	}
	shape := []int64{int64(enc.N), int64(enc.L)}
	if ids, err = s.Keep(ts.NewTensorFromData(enc.IDs, shape)); err != nil {
		return nil, nil, err
	}
	if mask, err = s.Keep(ts.NewTensorFromData(enc.Mask, shape)); err != nil {
		return nil, nil, err
	}
	if dev != gotch.CPU {
		if ids, err = s.Keep(ids.To(dev, false)); err != nil {
			return nil, nil, err
		}
		if mask, err = s.Keep(mask.To(dev, false)); err != nil {
			return nil, nil, err
		}
	}
	return ids, mask, nil
}

// LocalNames implements torchenc.LocalNet: BERT's last layer's token
// states and their mask.
func (n net) LocalNames() []string { return []string{sdk.OutputTokens, sdk.OutputTokenMask} }

// Local implements torchenc.LocalNet: the pooled features, as Features
// returns them, and the token states [N, L, D] and mask [N, L] (float, 1
// for a real token, [CLS] and [SEP] included) from the same pass.
func (n net) Local(b *sdk.Batch, train bool, dev gotch.Device, names []string) (*ts.Tensor, map[string]*ts.Tensor, error) {
	var s torchx.Scope
	defer s.Free()
	ids, mask, err := n.tokens(&s, b, dev)
	if err != nil {
		return nil, nil, err
	}
	h, err := n.m.Hidden(ids, mask, train)
	if err != nil {
		return nil, nil, err
	}
	var pooled *ts.Tensor
	if n.m.Config().Pooling == bert.PoolCLS {
		pooled, err = h.Select(1, 0, false)
	} else {
		pooled, err = bert.MaxPool(h, mask)
	}
	if err != nil {
		h.MustDrop()
		return nil, nil, err
	}
	maps := map[string]*ts.Tensor{}
	if slices.Contains(names, sdk.OutputTokens) {
		maps[sdk.OutputTokens] = h
	} else {
		h.MustDrop()
	}
	if slices.Contains(names, sdk.OutputTokenMask) {
		if maps[sdk.OutputTokenMask], err = mask.Totype(gotch.Float, false); err != nil {
			pooled.MustDrop()
			for _, v := range maps {
				v.MustDrop()
			}
			return nil, nil, err
		}
	}
	return pooled, maps, nil
}
