package torchx

import (
	"fmt"

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

// Backward back-propagates the scalar loss into leaves (tensors made with
// requiresGrad by FromCore or Scalar1) and returns the loss's value and each
// leaf's gradient as a core tensor of the leaf's own dtype: the end of
// every loss's Compute.
func (s *Scope) Backward(loss *ts.Tensor, leaves []*ts.Tensor) (float64, []*tensor.Tensor, error) {
	if err := loss.Backward(); err != nil {
		return 0, nil, fmt.Errorf("backward: %w", err)
	}
	value, err := Float64(loss)
	if err != nil {
		return 0, nil, fmt.Errorf("read loss: %w", err)
	}
	grads := make([]*tensor.Tensor, len(leaves))
	for i, leaf := range leaves {
		dt, err := coreDType(leaf.DType())
		if err != nil {
			return 0, nil, fmt.Errorf("gradient %d: %w", i, err)
		}
		g, err := s.Keep(leaf.Grad(false))
		if err != nil {
			return 0, nil, fmt.Errorf("read gradient %d: %w", i, err)
		}
		if grads[i], err = s.ToCore(g, dt); err != nil {
			return 0, nil, fmt.Errorf("gradient %d: %w", i, err)
		}
	}
	return value, grads, nil
}
