package torchx

import (
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// TestBackward: for loss = sum(x*x) + 3*y over a float32 leaf x and a
// float64 leaf y, Backward returns the loss's value and the gradients 2x
// and 3, each in its leaf's own dtype; a leaf that does not require
// gradients is an error naming it.
func TestBackward(t *testing.T) {
	err := torchrt.Pin(func() error {
		var s Scope
		defer s.Free()
		xt, err := tensor.FromFloat64s(tensor.Float32, []int64{3}, []float64{1, -2, 0.5})
		if err != nil {
			return err
		}
		x, err := s.FromCore(xt, true)
		if err != nil {
			return err
		}
		y, err := s.Scalar1(tensor.Float64, 4, true)
		if err != nil {
			return err
		}
		loss := func() *ts.Tensor {
			sq, err := s.Keep(x.Mul(x, false))
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.Keep(sq.Sum(sq.DType(), false))
			if err != nil {
				t.Fatal(err)
			}
			y3, err := s.Keep(y.MulScalar(s.Scalar(3), false))
			if err != nil {
				t.Fatal(err)
			}
			sum64, err := s.Keep(sum.Totype(y3.DType(), false))
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.Keep(sum64.Add(y3, false))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		value, grads, err := s.Backward(loss(), []*ts.Tensor{x, y})
		if err != nil {
			return err
		}
		if value != 1+4+0.25+12 {
			t.Errorf("loss %v, want 17.25", value)
		}
		if grads[0].DType != tensor.Float32 || grads[1].DType != tensor.Float64 {
			t.Errorf("gradient dtypes %s, %s; want float32, float64 (the leaves')", grads[0].DType, grads[1].DType)
		}
		gx, _ := grads[0].Float64s()
		gy, _ := grads[1].Float64s()
		if !slices.Equal(gx, []float64{2, -4, 1}) || !slices.Equal(gy, []float64{3}) {
			t.Errorf("gradients %v, %v; want [2 -4 1], [3]", gx, gy)
		}
		c, err := s.FromCore(xt, false)
		if err != nil {
			return err
		}
		if _, _, err := s.Backward(loss(), []*ts.Tensor{x, c}); err == nil || !strings.Contains(err.Error(), "gradient 1") {
			t.Errorf("a leaf without gradients: err %v, want one naming gradient 1", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
