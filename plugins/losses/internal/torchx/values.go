package torchx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/convirt/convirt/core/tensor"
)

// Scalar1 makes a one-element, 1-d core tensor of dtype dt (float32 or
// float64) holding x; it broadcasts like a scalar in libtorch ops.
func Scalar1(dt tensor.DType, x float64) *tensor.Tensor {
	return FromFloat64s(dt, []int64{1}, []float64{x})
}

// FromFloat64s makes a core tensor of dtype dt (float32 or float64) and the
// given shape from vals, which must hold exactly the shape's elements.
func FromFloat64s(dt tensor.DType, shape []int64, vals []float64) *tensor.Tensor {
	t := &tensor.Tensor{DType: dt, Shape: append([]int64{}, shape...), Data: make([]byte, len(vals)*dt.Size())}
	for i, x := range vals {
		if dt == tensor.Float32 {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(x)))
		} else {
			binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
		}
	}
	return t
}

// Float64s reads the elements of a float32 or float64 core tensor.
func Float64s(t *tensor.Tensor) ([]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	out := make([]float64, t.Numel())
	switch t.DType {
	case tensor.Float32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	case tensor.Float64:
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	default:
		return nil, fmt.Errorf("torchx: want a float32 or float64 tensor, have %s", t.DType)
	}
	return out, nil
}
