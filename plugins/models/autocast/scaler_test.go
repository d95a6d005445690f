package autocast

import (
	"math"
	"runtime"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// withGrad returns a parameter whose gradient is g (by backward of sum(p*g)).
func withGrad(t *testing.T, g []float32) *ts.Tensor {
	t.Helper()
	p := mustTensor(t, make([]float32, len(g)), []int64{int64(len(g))}, true)
	gt := mustTensor(t, g, []int64{int64(len(g))}, false)
	y := p.MustMul(gt, false)
	s := y.MustSum(gotch.Float, true)
	defer s.MustDrop()
	s.MustBackward()
	return p
}

func gradValues(t *testing.T, p *ts.Tensor) []float64 {
	t.Helper()
	g := p.MustGrad(false)
	defer g.MustDrop()
	return g.Float64Values()
}

func TestScalerUnscalesAndSkipsNonFinite(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := NewScaler()
	s.Scale, s.GrowthInterval = 4, 2
	a, b := withGrad(t, []float32{4, -8}), withGrad(t, []float32{2})
	finite, err := s.Unscale([]*ts.Tensor{a, b})
	if err != nil || !finite {
		t.Fatalf("finite gradients: Unscale = %v, %v", finite, err)
	}
	if got := gradValues(t, a); got[0] != 1 || got[1] != -2 {
		t.Errorf("unscaled gradient %v, want [1 -2]", got)
	}
	s.Update(finite)
	if s.Scale != 4 || s.Good != 1 {
		t.Errorf("after one good step: scale %v good %d, want 4, 1", s.Scale, s.Good)
	}
	s.Update(true)
	if s.Scale != 8 || s.Good != 0 {
		t.Errorf("after GrowthInterval good steps: scale %v good %d, want 8, 0", s.Scale, s.Good)
	}
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.NaN())} {
		c := withGrad(t, []float32{1, bad})
		finite, err = s.Unscale([]*ts.Tensor{a, c, b})
		if err != nil || finite {
			t.Errorf("gradient with %v: Unscale = %v, %v; want false", bad, finite, err)
		}
	}
	before := s.Scale
	s.Good = 1
	s.Update(false)
	if s.Scale != before/2 || s.Good != 0 {
		t.Errorf("after a non-finite step: scale %v good %d, want %v, 0", s.Scale, s.Good, before/2)
	}
	noGrad := mustTensor(t, []float32{1}, []int64{1}, true)
	if finite, err := s.Unscale([]*ts.Tensor{noGrad}); err != nil || !finite {
		t.Errorf("parameter without gradient: Unscale = %v, %v; want true", finite, err)
	}
}
