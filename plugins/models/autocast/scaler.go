package autocast

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch/ts"
)

// Scaler is the dynamic loss scale fp16 training needs, with
// torch.cuda.amp.GradScaler's rules and defaults: the gradient entering
// backward is multiplied by Scale so that small gradients do not flush to
// zero in float16; before the optimiser step the parameters' gradients are
// divided by it again and checked; a step with an inf or NaN gradient is
// skipped and the scale halved, and after GrowthInterval good steps in a row
// the scale doubles. bfloat16 has fp32's exponent range and needs none.
type Scaler struct {
	Scale          float64 // current scale (65536 to start)
	GrowthFactor   float64 // after GrowthInterval finite steps (2)
	BackoffFactor  float64 // after a step with inf/NaN gradients (0.5)
	GrowthInterval int     // finite steps in a row before growing (2000)
	Good           int     // finite steps since the scale last changed
}

// NewScaler returns a Scaler with GradScaler's defaults.
func NewScaler() *Scaler {
	return &Scaler{Scale: 65536, GrowthFactor: 2, BackoffFactor: 0.5, GrowthInterval: 2000}
}

// Unscale divides the gradients of params by the scale in place and reports
// whether they are all finite. Parameters without a gradient are skipped.
// Run it on the thread that owns the tensors, outside autocast.
func (s *Scaler) Unscale(params []*ts.Tensor) (finite bool, err error) {
	var sc torchx.Scope
	defer sc.Free()
	inv := sc.Scalar(1 / s.Scale)
	var bad *ts.Tensor
	for _, p := range params {
		g, err := sc.Keep(p.Grad(false))
		if err != nil {
			return false, fmt.Errorf("unscale: %w", err)
		}
		if !g.MustDefined() {
			continue
		}
		if err := g.MulScalar_(inv); err != nil {
			return false, fmt.Errorf("unscale: %w", err)
		}
		// Counted on the device and read once, so a GPU syncs once per step.
		n, err := sc.Keep(g.Isfinite(false))
		if err == nil {
			n, err = sc.Keep(n.LogicalNot(false))
		}
		if err == nil {
			n, err = sc.Keep(n.Any(false))
		}
		if err == nil && bad != nil {
			n, err = sc.Keep(bad.LogicalOr(n, false))
		}
		if err != nil {
			return false, fmt.Errorf("unscale: check finite: %w", err)
		}
		bad = n
	}
	if bad == nil {
		return true, nil
	}
	anyBad, err := torchx.Float64(bad)
	if err != nil {
		return false, fmt.Errorf("unscale: %w", err)
	}
	return anyBad == 0, nil
}

// Update moves the scale after a step whose gradients were finite or not
// (Unscale's answer): back off on inf/NaN, grow after GrowthInterval good
// steps in a row.
func (s *Scaler) Update(finite bool) {
	if !finite {
		s.Scale *= s.BackoffFactor
		s.Good = 0
		return
	}
	s.Good++
	if s.Good >= s.GrowthInterval {
		s.Scale *= s.GrowthFactor
		s.Good = 0
	}
}
