// Package adam is Adam's update on float64 parameters kept in Go, and the
// moments a checkpoint keeps of it: the one definition the parameters that
// live outside libtorch share (the CLIP loss's temperature, the fine-tuning
// head).
package adam

import "math"

// Config holds Adam's learning rate and constants.
type Config struct {
	LR, Beta1, Beta2, Eps float64
}

// State is what Adam keeps of a parameter (T float64) or of a vector of
// them (T []float64) between steps, in the JSON a checkpoint holds: the
// gradient accumulated since the last step, whether there is one, the first
// and second moments, and the steps taken. Embedded in a plugin's state, its
// keys sit beside the plugin's own.
type State[T float64 | []float64] struct {
	Grad    T     `json:"grad"`
	Pending bool  `json:"pending"`
	M       T     `json:"adam_m"`
	V       T     `json:"adam_v"`
	Steps   int64 `json:"steps"`
}

// Step is one step t of Adam (t from 1), its bias corrections computed once
// for every parameter it updates.
type Step struct {
	c        Config
	bc1, bc2 float64
}

// At returns step t.
func (c Config) At(t int64) Step {
	return Step{c: c, bc1: 1 - math.Pow(c.Beta1, float64(t)), bc2: 1 - math.Pow(c.Beta2, float64(t))}
}

// Update moves the moments m and v by gradient g and returns parameter p
// after the step: p - LR * m̂ / (sqrt(v̂) + Eps), m̂ and v̂ the bias-corrected
// moments.
func (s Step) Update(p, g float64, m, v *float64) float64 {
	c := s.c
	*m = c.Beta1**m + (1-c.Beta1)*g
	*v = c.Beta2**v + (1-c.Beta2)*g*g
	return p - c.LR*(*m/s.bc1)/(math.Sqrt(*v/s.bc2)+c.Eps)
}
