package vec

import (
	"fmt"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Matrix reads a 2-d float32 or float64 tensor as rows x cols float64s.
func Matrix(t *tensor.Tensor) (rows, cols int, data []float64, err error) {
	if t == nil {
		return 0, 0, nil, fmt.Errorf("nil tensor")
	}
	if len(t.Shape) != 2 {
		return 0, 0, nil, fmt.Errorf("want a 2-d tensor, have shape %v", t.Shape)
	}
	if data, err = t.Float64s(); err != nil {
		return 0, 0, nil, err
	}
	return int(t.Shape[0]), int(t.Shape[1]), data, nil
}

// Tensor makes a rows x cols tensor of dtype dt (float32 or float64) from
// len(data) == rows*cols values.
func Tensor(dt tensor.DType, rows, cols int, data []float64) *tensor.Tensor {
	t, err := tensor.FromFloat64s(dt, []int64{int64(rows), int64(cols)}, data)
	if err != nil {
		panic(fmt.Sprintf("vec.Tensor: %v", err)) // a caller bug: shape and data disagree, or not a float dtype
	}
	return t
}
