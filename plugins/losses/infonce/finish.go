package infonce

import (
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// Metric names reported by Finish.
const (
	MetricLossImageToText = "loss_i2t" // mean of l_i(v->u)
	MetricLossTextToImage = "loss_t2i" // mean of l_i(u->v)
	MetricAccImageToText  = "acc_i2t"  // top-1 accuracy of the logits' rows
	MetricAccTextToImage  = "acc_t2i"  // top-1 accuracy of the logits' columns
)

// Finish back-propagates loss (as returned by Forward) and reads the loss
// value, the gradients of the given leaves as core tensors of their own
// dtypes (torchx.Scope.Backward), and the per-direction losses and
// accuracies.
func Finish(s *torchx.Scope, loss, logits, lvu, luv *ts.Tensor, leaves []*ts.Tensor, n int) (float64, []*tensor.Tensor, map[string]float64, error) {
	value, grads, err := s.Backward(loss, leaves)
	if err != nil {
		return 0, nil, nil, err
	}
	lv, err := s.Float64s(logits)
	if err != nil {
		return 0, nil, nil, err
	}
	metrics := map[string]float64{}
	metrics[MetricAccImageToText], metrics[MetricAccTextToImage] = Accuracies(lv, n)
	for name, t := range map[string]*ts.Tensor{MetricLossImageToText: lvu, MetricLossTextToImage: luv} {
		m, err := s.Keep(t.Mean(t.DType(), false))
		if err != nil {
			return 0, nil, nil, err
		}
		if metrics[name], err = torchx.Float64(m); err != nil {
			return 0, nil, nil, err
		}
	}
	return value, grads, metrics, nil
}
