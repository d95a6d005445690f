package infonce

import (
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// Run is the set-up every loss's Compute shares: on the pinned torch thread,
// in a fresh scope, it copies the image and text batches v and u into leaf
// tensors that require gradients and calls f with them, so that f can build
// the graph (Forward) and back-propagate it (Finish). The scope, and every
// tensor f kept in it, is freed when f returns.
func Run(v, u *tensor.Tensor, f func(s *torchx.Scope, vt, ut *ts.Tensor) error) error {
	return torchrt.Pin(func() error {
		var s torchx.Scope
		defer s.Free()
		vt, err := s.FromCore(v, true)
		if err != nil {
			return err
		}
		ut, err := s.FromCore(u, true)
		if err != nil {
			return err
		}
		return f(&s, vt, ut)
	})
}
