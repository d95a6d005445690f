package benchmarks

import (
	"slices"
	"time"

	"github.com/convirt/convirt/core/bench"
)

// side is one of the implementations a benchmark times against each other:
// what it calls and the Steps its calls' durations go to.
type side[T any] struct {
	impl  T
	steps *bench.Steps
}

// alternate runs n steps: at step i it calls call(i, impl) for each side and
// adds the call's duration to that side's steps, the sides in reverse order
// on odd steps so that drift on a shared machine hits them alike. It stops
// at the first error.
func alternate[T any](n int, sides []side[T], call func(i int, impl T) error) error {
	for i := range n {
		order := slices.Clone(sides)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			t := time.Now()
			if err := call(i, s.impl); err != nil {
				return err
			}
			s.steps.Add(time.Since(t))
		}
	}
	return nil
}

// newStepStats is the timing of the timed steps, of batch items each, of one
// way of running a step (mode).
func newStepStats(mode string, steps *bench.Steps, batch int) *stepStats {
	s := &stepStats{Mode: mode, SecPerStep: steps.Mean(), SecPerStepMedian: steps.Median()}
	s.ItemsPerSec = bench.PerSec(batch, s.SecPerStep)
	return s
}
