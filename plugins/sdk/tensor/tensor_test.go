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
