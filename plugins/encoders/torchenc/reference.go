package torchenc

import (
	"errors"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/sugarme/gotch/ts"
)

// LossFunc builds a scalar loss from the two projection batches in the
// caller's autograd graph.
type LossFunc func(v, u *ts.Tensor) (*ts.Tensor, error)

// ReferenceStep is the ConVIRT step computed in one process and one autograd
// graph: both encoders' forwards, the loss, one backward through everything,
// and both optimiser steps. It is what the split step across plugin processes
// must reproduce (the exactness test) and what the split's overhead is
// measured against (convirt bench). It runs on the image encoder's libtorch
// thread and touches the text encoder's model from there, so no other call
// may use either encoder meanwhile.
func ReferenceStep(img, txt *Encoder, b *sdk.Batch, loss LossFunc) (float64, error) {
	if img == nil || txt == nil {
		return 0, errors.New("reference step: encoders not configured")
	}
	var value float64
	err := img.do(func() error {
		if _, err := torchrt.SetGradEnabled(true); err != nil {
			return err
		}
		v, err := img.forward(&sdk.Batch{IDs: b.IDs, Images: b.Images}, true, sdk.OutputProjection)
		if err != nil {
			return err
		}
		defer v.MustDrop()
		u, err := txt.forward(&sdk.Batch{IDs: b.IDs, Texts: b.Texts}, true, sdk.OutputProjection)
		if err != nil {
			return err
		}
		defer u.MustDrop()
		l, err := loss(v, u)
		if err != nil {
			return err
		}
		defer l.MustDrop()
		value = l.Float64Values()[0]
		if err := l.Backward(); err != nil {
			return err
		}
		for _, e := range []*Encoder{img, txt} {
			if err := e.step(nil); err != nil {
				return err
			}
		}
		return nil
	})
	return value, err
}
