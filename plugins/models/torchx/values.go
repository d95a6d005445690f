package torchx

import (
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// Scalar1 makes a one-element, 1-d libtorch tensor of dtype dt (float32 or
// float64) holding x, owned by s; it broadcasts like a scalar in libtorch
// ops, and with requiresGrad it is a leaf whose gradient Backward fills in.
func (s *Scope) Scalar1(dt tensor.DType, x float64, requiresGrad bool) (*ts.Tensor, error) {
	t, err := tensor.FromFloat64s(dt, []int64{1}, []float64{x})
	if err != nil {
		return nil, err
	}
	return s.FromCore(t, requiresGrad)
}

// Float64s copies the values of a float libtorch tensor, on any device,
// out as float64s in row-major order: the logits or predictions a loss
// reads its metrics off.
func (s *Scope) Float64s(x *ts.Tensor) ([]float64, error) {
	t, err := s.ToCore(x, tensor.Float64)
	if err != nil {
		return nil, err
	}
	return t.Float64s()
}
