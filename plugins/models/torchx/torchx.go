// Package torchx converts between the project's framework-neutral
// sdk/tensor.Tensor and gotch (libtorch) tensors, and tracks the libtorch
// tensors a computation creates so that they are freed together. The loss
// and encoder plugins share it; run its calls inside torchrt.Pin (or on a
// goroutine locked to its OS thread) so that libtorch's per-thread state
// stays consistent.
package torchx

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"
)

// Scope owns libtorch tensors and scalars and frees them all in Free.
// The zero value is ready to use. A Scope is not safe for concurrent use.
type Scope struct {
	tensors []*ts.Tensor
	scalars []*ts.Scalar
}

// Keep records t (if non-nil) so that Free releases it, and passes t and err
// through, so that it can wrap any gotch call: x, err := s.Keep(a.Mm(b, false)).
func (s *Scope) Keep(t *ts.Tensor, err error) (*ts.Tensor, error) {
	if t != nil {
		s.tensors = append(s.tensors, t)
	}
	return t, err
}

// Scalar makes a float scalar owned by the scope.
func (s *Scope) Scalar(v float64) *ts.Scalar {
	sc := ts.FloatScalar(v)
	s.scalars = append(s.scalars, sc)
	return sc
}

// Free releases every tensor and scalar the scope holds. It is safe to call
// more than once.
func (s *Scope) Free() {
	for _, t := range s.tensors {
		_ = t.Drop()
	}
	for _, sc := range s.scalars {
		_ = sc.Drop()
	}
	s.tensors, s.scalars = nil, nil
}

// floatTypes pairs each core dtype with gotch's: the floating types only,
// since everything here is differentiated.
var floatTypes = [...]struct {
	core  tensor.DType
	torch gotch.DType
}{{tensor.Float32, gotch.Float}, {tensor.Float64, gotch.Double}}

// GoDType maps a core tensor dtype to gotch's (floatTypes).
func GoDType(d tensor.DType) (gotch.DType, error) {
	for _, f := range floatTypes {
		if f.core == d {
			return f.torch, nil
		}
	}
	return gotch.Invalid, fmt.Errorf("torchx: dtype %s is not a floating type (want float32 or float64)", d)
}

// coreDType is GoDType's inverse.
func coreDType(d gotch.DType) (tensor.DType, error) {
	for _, f := range floatTypes {
		if f.torch == d {
			return f.core, nil
		}
	}
	return 0, fmt.Errorf("torchx: dtype %v is not a floating type (want float32 or float64)", d)
}

// FromCore copies t into a new CPU libtorch tensor owned by s. With
// requiresGrad the result is a leaf whose gradient Backward fills in.
func (s *Scope) FromCore(t *tensor.Tensor, requiresGrad bool) (*ts.Tensor, error) {
	return s.FromCoreOn(t, gotch.CPU, requiresGrad)
}

// FromCoreOn copies t into a new libtorch tensor on dev, owned by s.
func (s *Scope) FromCoreOn(t *tensor.Tensor, dev gotch.Device, requiresGrad bool) (*ts.Tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("torchx: nil tensor")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 {
		return nil, fmt.Errorf("torchx: 0-d tensors are not supported by gotch; use shape [1]")
	}
	if !littleEndian() {
		return nil, fmt.Errorf("torchx: big-endian hosts are not supported")
	}
	dt, err := GoDType(t.DType)
	if err != nil {
		return nil, err
	}
	x, err := s.Keep(ts.OfDataSize(t.Data, t.Shape, dt))
	if err != nil {
		return nil, fmt.Errorf("torchx: copy %v %s into libtorch: %w", t.Shape, t.DType, err)
	}
	if dev != gotch.CPU {
		if x, err = s.Keep(x.To(dev, false)); err != nil {
			return nil, fmt.Errorf("torchx: move %v to %v: %w", t.Shape, dev, err)
		}
	}
	if !requiresGrad {
		return x, nil
	}
	// SetRequiresGrad returns a new handle on the same storage; the old one
	// stays in the scope and is freed with it.
	y, err := s.Keep(x.SetRequiresGrad(true, false))
	if err != nil {
		return nil, fmt.Errorf("torchx: set requires_grad: %w", err)
	}
	return y, nil
}

// ToCore copies a float32 or float64 libtorch tensor, on any device and
// contiguous or not (libtorch's copy handles both), into a new core tensor of
// the given dtype (converting if the libtorch tensor has the other one).
func (s *Scope) ToCore(x *ts.Tensor, want tensor.DType) (*tensor.Tensor, error) {
	dt, err := GoDType(want)
	if err != nil {
		return nil, err
	}
	shape, err := x.Size()
	if err != nil {
		return nil, fmt.Errorf("torchx: read shape: %w", err)
	}
	if x.DType() != dt {
		if x, err = s.Keep(x.Totype(dt, false)); err != nil {
			return nil, fmt.Errorf("torchx: convert to %s: %w", want, err)
		}
	}
	n := tensor.Numel(shape)
	out := &tensor.Tensor{DType: want, Shape: shape, Data: make([]byte, n*int64(want.Size()))}
	if n == 0 {
		return out, nil
	}
	lib.AtCopyData(lib.Ctensor(x.Ctensor()), unsafe.Pointer(&out.Data[0]), uint(n), uint(want.Size()))
	if err := ts.TorchErr(); err != nil {
		return nil, fmt.Errorf("torchx: copy %v out of libtorch: %w", shape, err)
	}
	runtime.KeepAlive(x)
	return out, nil
}

// Float64 reads a one-element tensor as a float64.
func Float64(x *ts.Tensor) (float64, error) {
	shape, err := x.Size()
	if err != nil {
		return 0, err
	}
	if tensor.Numel(shape) != 1 {
		return 0, fmt.Errorf("torchx: want a one-element tensor, have shape %v", shape)
	}
	idx := make([]int64, len(shape))
	return x.Float64Value(idx)
}

func littleEndian() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}
