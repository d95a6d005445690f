package torchenc

import (
	"fmt"
	"unsafe"

	"github.com/convirt/convirt/core/tensor"
	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"
)

var toGotch = map[tensor.DType]gotch.DType{
	tensor.Float32: gotch.Float,
	tensor.Float64: gotch.Double,
	tensor.Int64:   gotch.Int64,
	tensor.Int32:   gotch.Int,
	tensor.Uint8:   gotch.Uint8,
}

// ToTorch copies t into a new libtorch tensor on dev. Call it on the
// encoder's libtorch thread.
func ToTorch(t *tensor.Tensor, dev gotch.Device) (*ts.Tensor, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	dt, ok := toGotch[t.DType]
	if !ok {
		return nil, fmt.Errorf("to torch: dtype %s", t.DType)
	}
	var x *ts.Tensor
	var err error
	if t.Numel() == 0 {
		x, err = ts.Zeros(t.Shape, dt, gotch.CPU)
	} else {
		shape := t.Shape
		if len(shape) == 0 {
			shape = []int64{1}
		}
		x, err = ts.OfDataSize(t.Data, shape, dt)
	}
	if err != nil {
		return nil, fmt.Errorf("to torch %v %s: %w", t.Shape, t.DType, err)
	}
	if dev != gotch.CPU {
		y, err := x.To(dev, true)
		if err != nil {
			return nil, fmt.Errorf("to %v: %w", dev, err)
		}
		x = y
	}
	return x, nil
}

// FromTorch copies a float32, float64 or int64 libtorch tensor into a
// tensor.Tensor (float tensors as float32). Call it on the libtorch thread.
func FromTorch(x *ts.Tensor) (*tensor.Tensor, error) {
	shape, err := x.Size()
	if err != nil {
		return nil, err
	}
	src := x
	if x.MustDevice() != gotch.CPU || x.DType() == gotch.Double || x.DType() == gotch.Half || x.DType() == gotch.BFloat16 {
		kind := gotch.Float
		if x.DType() == gotch.Int64 {
			kind = gotch.Int64
		}
		src, err = x.To(gotch.CPU, false)
		if err != nil {
			return nil, err
		}
		defer src.MustDrop()
		conv, err := src.Totype(kind, false)
		if err != nil {
			return nil, err
		}
		defer conv.MustDrop()
		src = conv
	}
	c, err := src.Contiguous(false)
	if err != nil {
		return nil, err
	}
	defer c.MustDrop()
	var dt tensor.DType
	switch c.DType() {
	case gotch.Float:
		dt = tensor.Float32
	case gotch.Int64:
		dt = tensor.Int64
	default:
		return nil, fmt.Errorf("from torch: dtype %v", c.DType())
	}
	out := &tensor.Tensor{DType: dt, Shape: shape}
	out.Data = make([]byte, out.Numel()*int64(dt.Size()))
	if len(out.Data) > 0 {
		lib.AtCopyData(lib.Ctensor(c.Ctensor()), unsafe.Pointer(&out.Data[0]), uint(out.Numel()), uint(dt.Size()))
		if err := ts.TorchErr(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
