package heads

import (
	"math"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

func TestProjection(t *testing.T) {
	vs := nn.NewVarStore(gotch.CPU)
	h, err := New(vs.Root().Sub("proj"), Config{In: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c := h.Config(); c.Hidden != 3 || c.Out != 512 {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := New(vs.Root().Sub("bad"), Config{In: -1}); err == nil {
		t.Error("negative size accepted")
	}
	vars := vs.Variables()
	for _, n := range []string{"proj.linear1.weight", "proj.linear1.bias", "proj.linear2.weight", "proj.linear2.bias"} {
		if _, ok := vars[n]; !ok {
			t.Errorf("missing %s", n)
		}
	}
	err = torchrt.Pin(func() error {
		x := ts.MustOfSlice([]float32{1, -2, 0.5, 0, 3, -1}).MustView([]int64{2, 3}, true)
		defer x.MustDrop()
		y, err := h.Forward(x)
		if err != nil {
			return err
		}
		if s := y.MustSize(); s[0] != 2 || s[1] != 512 {
			t.Fatalf("output %v", s)
		}
		// Reference: W2 relu(W1 x + b1) + b2 computed step by step.
		a := x.MustMatmul(h.l1.Weight.MustT(false), false).MustAdd(h.l1.Bias, true).MustRelu(true)
		ref := a.MustMatmul(h.l2.Weight.MustT(false), true).MustAdd(h.l2.Bias, true)
		diff := y.MustSub(ref, false).MustAbs(true).MustMax(true).Float64Values(true)[0]
		if diff > 1e-5 || math.IsNaN(diff) {
			t.Errorf("max |g(x) - reference| = %g", diff)
		}
		loss := y.MustSum(gotch.Float, true)
		if err := loss.Backward(); err != nil {
			return err
		}
		loss.MustDrop()
		for _, v := range vs.TrainableVariables() {
			if g := v.MustGrad(false); !g.MustDefined() {
				t.Errorf("%s has no gradient", v.Name())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
