package tensor

import (
	"errors"
	"reflect"
	"testing"
)

func TestRoundTrips(t *testing.T) {
	f, err := FromFloat32([]int64{2, 2}, []float32{1, -2.5, 3, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Float32s(); !reflect.DeepEqual(got, []float32{1, -2.5, 3, 0}) {
		t.Errorf("Float32s = %v", got)
	}
	if got, _ := f.Float64s(); !reflect.DeepEqual(got, []float64{1, -2.5, 3, 0}) {
		t.Errorf("Float64s of float32 = %v", got)
	}
	d, err := FromFloat64s(Float64, []int64{3}, []float64{0.1, 2, -3})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Float64s(); !reflect.DeepEqual(got, []float64{0.1, 2, -3}) {
		t.Errorf("Float64s = %v", got)
	}
	i, err := FromInt64([]int64{2}, []int64{-7, 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := i.Int64s(); !reflect.DeepEqual(got, []int64{-7, 1 << 40}) {
		t.Errorf("Int64s = %v", got)
	}
	if _, err := i.Float64s(); !errors.Is(err, ErrDType) {
		t.Errorf("Float64s of int64: err = %v, want ErrDType", err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := FromFloat32([]int64{2, 2}, []float32{1}); err == nil {
		t.Error("FromFloat32 with too few values: want an error")
	}
	if _, err := FromFloat64s(Int64, []int64{1}, []float64{1}); !errors.Is(err, ErrDType) {
		t.Errorf("FromFloat64s(Int64): err = %v, want ErrDType", err)
	}
	for _, bad := range []*Tensor{
		{DType: 9, Shape: []int64{1}, Data: make([]byte, 4)},
		{DType: Float32, Shape: []int64{-1}},
		{DType: Float32, Shape: []int64{2}, Data: make([]byte, 7)},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v): want an error", bad)
		}
	}
}

// TestResizeAxis1: padding adds zeros after each row's values, cutting
// drops the last ones, the same length returns the tensor itself, and a
// tensor of one axis or a negative length is refused.
func TestResizeAxis1(t *testing.T) {
	x, err := FromFloat32([]int64{2, 2, 1}, []float32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int64
		want []float32
	}{{3, []float32{1, 2, 0, 3, 4, 0}}, {1, []float32{1, 3}}, {0, nil}} {
		y, err := ResizeAxis1(x, c.n)
		if err != nil {
			t.Fatal(err)
		}
		v, err := y.Float32s()
		if err != nil || y.Shape[1] != c.n || len(v) != len(c.want) {
			t.Fatalf("to %d: %v %v, %v", c.n, y.Shape, v, err)
		}
		for i := range v {
			if v[i] != c.want[i] {
				t.Errorf("to %d: %v, want %v", c.n, v, c.want)
				break
			}
		}
	}
	if y, err := ResizeAxis1(x, 2); y != x || err != nil {
		t.Errorf("same length: a copy (%v)", err)
	}
	one, _ := FromFloat32([]int64{2}, []float32{1, 2})
	if _, err := ResizeAxis1(one, 3); err == nil {
		t.Error("a tensor of one axis resized")
	}
	if _, err := ResizeAxis1(x, -1); err == nil {
		t.Error("a negative length accepted")
	}
}
