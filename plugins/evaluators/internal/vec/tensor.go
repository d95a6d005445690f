package vec

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/convirt/convirt/core/tensor"
)

// Matrix reads a 2-d float32 or float64 tensor as rows x cols float64s.
func Matrix(t *tensor.Tensor) (rows, cols int, data []float64, err error) {
	if t == nil {
		return 0, 0, nil, fmt.Errorf("nil tensor")
	}
	if err := t.Validate(); err != nil {
		return 0, 0, nil, err
	}
	if len(t.Shape) != 2 {
		return 0, 0, nil, fmt.Errorf("want a 2-d tensor, have shape %v", t.Shape)
	}
	data = make([]float64, t.Numel())
	switch t.DType {
	case tensor.Float32:
		for i := range data {
			data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	case tensor.Float64:
		for i := range data {
			data[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	default:
		return 0, 0, nil, fmt.Errorf("want a float32 or float64 tensor, have %s", t.DType)
	}
	return int(t.Shape[0]), int(t.Shape[1]), data, nil
}

// Tensor makes a rows x cols tensor of dtype dt (float32 or float64).
func Tensor(dt tensor.DType, rows, cols int, data []float64) *tensor.Tensor {
	t := &tensor.Tensor{DType: dt, Shape: []int64{int64(rows), int64(cols)}, Data: make([]byte, len(data)*dt.Size())}
	for i, x := range data {
		if dt == tensor.Float32 {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(x)))
		} else {
			binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
		}
	}
	return t
}
