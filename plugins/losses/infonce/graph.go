package infonce

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch/ts"
)

// ConVIRT returns ConVIRT's loss, lambda * CE(v.u^T/tau) + (1-lambda) *
// CE(u.v^T/tau) on L2-normalised rows, as a function that builds it in the
// caller's autograd graph: the same Forward the loss plugins run, for
// in-process references (torchenc.ReferenceStep, the benchmarks) and tests
// that compare a split step with one graph. The returned tensor is the
// caller's to free; the intermediates are freed before it returns, while
// autograd keeps what backward needs.
func ConVIRT(tau, lambda float64) func(v, u *ts.Tensor) (*ts.Tensor, error) {
	return func(v, u *ts.Tensor) (*ts.Tensor, error) {
		var s torchx.Scope
		defer s.Free()
		one, err := s.Keep(ts.Ones([]int64{1}, v.DType(), v.MustDevice()))
		if err != nil {
			return nil, fmt.Errorf("convirt loss: scale: %w", err)
		}
		scale, err := s.Keep(one.MulScalar(s.Scalar(1/tau), false))
		if err != nil {
			return nil, fmt.Errorf("convirt loss: scale: %w", err)
		}
		loss, _, _, _, err := Forward(&s, v, u, scale, lambda)
		if err != nil {
			return nil, fmt.Errorf("convirt loss: %w", err)
		}
		return loss.ShallowClone()
	}
}
