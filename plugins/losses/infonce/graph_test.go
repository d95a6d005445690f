package infonce

import (
	"math"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// TestConVIRTHandComputed checks the in-graph loss on the 2x2 example of the
// convirt plugin's tests, and that its gradient reaches both inputs.
func TestConVIRTHandComputed(t *testing.T) {
	// v is already unit-norm; u's second row [2,2] normalises to [a,a] with
	// a = 1/sqrt(2). With tau = 1, S = [[1, a], [0, a]].
	a := 1 / math.Sqrt2
	rows := math.Log1p(math.Exp(a-1)) + math.Log1p(math.Exp(-a))
	cols := math.Log1p(math.Exp(-1)) + math.Log(2)
	for _, lambda := range []float64{0, 0.25, 0.75, 1} {
		v := ts.MustOfSlice([]float64{1, 0, 0, 1}).MustView([]int64{2, 2}, true).MustSetRequiresGrad(true, false)
		u := ts.MustOfSlice([]float64{3, 0, 2, 2}).MustView([]int64{2, 2}, true).MustSetRequiresGrad(true, false)
		loss, err := ConVIRT(1, lambda)(v, u)
		if err != nil {
			t.Fatal(err)
		}
		want := 0.5 * (lambda*rows + (1-lambda)*cols)
		if got := loss.Float64Values()[0]; math.Abs(got-want) > 1e-12 {
			t.Errorf("lambda %v: loss %.15f, want %.15f", lambda, got, want)
		}
		if loss.DType() != gotch.Double {
			t.Errorf("loss dtype %v, want the inputs' double", loss.DType())
		}
		loss.MustBackward()
		for name, x := range map[string]*ts.Tensor{"v": v, "u": u} {
			g := x.MustGrad(false)
			if !g.MustDefined() {
				t.Errorf("lambda %v: no gradient reached %s", lambda, name)
			}
			g.MustDrop()
		}
		loss.MustDrop()
		v.MustDrop()
		u.MustDrop()
	}
}
