// Package tensor is the project's framework-neutral tensor: a dtype, a shape
// and little-endian bytes. It is what crosses process boundaries (see
// docs/plugins.md, "What crosses the wire") and what datasets, the host and
// evaluators exchange without linking libtorch.
package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DType is an element type. The values are part of the wire format.
type DType uint8

// Element types.
const (
	Float32 DType = 1
	Float64 DType = 2
	Int64   DType = 3
	Int32   DType = 4
	Uint8   DType = 5
)

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Uint8:
		return 1
	}
	return 0
}

// String names the dtype as PyTorch does.
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Tensor is a dense row-major tensor. Data holds Numel()*DType.Size() bytes,
// little-endian.
type Tensor struct {
	DType DType
	Shape []int64
	Data  []byte
}

// Numel is the number of elements the shape holds.
func Numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Numel is the number of elements of t.
func (t *Tensor) Numel() int64 { return Numel(t.Shape) }

// Validate checks that the dtype is known, no dimension is negative and Data
// has exactly the bytes the shape needs.
func (t *Tensor) Validate() error {
	if t.DType.Size() == 0 {
		return fmt.Errorf("tensor: unknown dtype %d", t.DType)
	}
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor: negative dimension %d at axis %d", d, i)
		}
	}
	if want := t.Numel() * int64(t.DType.Size()); int64(len(t.Data)) != want {
		return fmt.Errorf("tensor: %v %s needs %d bytes, has %d", t.Shape, t.DType, want, len(t.Data))
	}
	return nil
}

// fits checks that n values fill a tensor of the given shape.
func fits(shape []int64, n int) error {
	if int64(n) != Numel(shape) {
		return fmt.Errorf("tensor: shape %v needs %d values, got %d", shape, Numel(shape), n)
	}
	return nil
}

// FromFloat32 makes a float32 tensor of the given shape from v.
func FromFloat32(shape []int64, v []float32) (*Tensor, error) {
	if err := fits(shape, len(v)); err != nil {
		return nil, err
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return &Tensor{DType: Float32, Shape: append([]int64(nil), shape...), Data: b}, nil
}

// FromInt64 makes an int64 tensor of the given shape from v.
func FromInt64(shape []int64, v []int64) (*Tensor, error) {
	if err := fits(shape, len(v)); err != nil {
		return nil, err
	}
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return &Tensor{DType: Int64, Shape: append([]int64(nil), shape...), Data: b}, nil
}

// ErrDType is returned when a tensor is read as the wrong element type.
var ErrDType = errors.New("tensor: wrong dtype")

// readable checks that t is a well-formed tensor of dtype want, before its
// elements are read as want's Go type.
func (t *Tensor) readable(want DType) error {
	if t.DType != want {
		return fmt.Errorf("%w: want %s, have %s", ErrDType, want, t.DType)
	}
	return t.Validate()
}

// Float32s returns the elements of a float32 tensor.
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.readable(Float32); err != nil {
		return nil, err
	}
	v := make([]float32, t.Numel())
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

// Int64s returns the elements of an int64 tensor.
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.readable(Int64); err != nil {
		return nil, err
	}
	v := make([]int64, t.Numel())
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return v, nil
}

// FromFloat64s makes a tensor of dtype dt (Float32 or Float64) and the given
// shape from vals, rounding to float32 where dt asks for it.
func FromFloat64s(dt DType, shape []int64, vals []float64) (*Tensor, error) {
	if dt != Float32 && dt != Float64 {
		return nil, fmt.Errorf("%w: want float32 or float64, have %s", ErrDType, dt)
	}
	if err := fits(shape, len(vals)); err != nil {
		return nil, err
	}
	t := &Tensor{DType: dt, Shape: append([]int64{}, shape...), Data: make([]byte, len(vals)*dt.Size())}
	for i, x := range vals {
		if dt == Float32 {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(x)))
		} else {
			binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
		}
	}
	return t, nil
}

// Float64s returns the elements of a float32 or float64 tensor as float64s.
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	out := make([]float64, t.Numel())
	switch t.DType {
	case Float32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	case Float64:
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	default:
		return nil, fmt.Errorf("%w: want float32 or float64, have %s", ErrDType, t.DType)
	}
	return out, nil
}

// ResizeAxis1 returns t with its second axis n long: cut, or padded with
// zeros (token outputs of replicas padded to the longest among them,
// sdk.RaggedOutput); t itself when it already is.
func ResizeAxis1(t *Tensor, n int64) (*Tensor, error) {
	if len(t.Shape) < 2 || n < 0 {
		return nil, fmt.Errorf("tensor: resize axis 1 of %v to %d: want at least two axes and a length of 0 or more", t.Shape, n)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Shape[1] == n {
		return t, nil
	}
	inner := int(Numel(t.Shape[2:])) * t.DType.Size()
	have, want := int(t.Shape[1])*inner, int(n)*inner
	shape := append([]int64(nil), t.Shape...)
	shape[1] = n
	data := make([]byte, int(t.Shape[0])*want)
	for row := range int(t.Shape[0]) {
		copy(data[row*want:(row+1)*want], t.Data[row*have:row*have+min(have, want)])
	}
	return &Tensor{DType: t.DType, Shape: shape, Data: data}, nil
}
