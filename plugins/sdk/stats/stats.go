// Package stats defines the summary an sdk.Score carries, once, for both
// sides of the plugin contract: the mean and sample standard deviation of
// per-seed values (MeanStd) and a confidence interval (Interval). The
// evaluators compute them when they aggregate their seeds, and the host
// computes them again when it writes results.json (core/results), so the
// two must agree on what "std" means; everything else about metrics
// (AUC, bootstrap, the Student-t interval over seeds) belongs to the side
// that computes it. It imports nothing of the project.
package stats

import (
	"fmt"
	"math"
)

// Interval is a confidence interval.
type Interval struct {
	Lo, Hi float64
}

// MeanStd returns the mean and the sample standard deviation (n-1 in the
// denominator; 0 for a single value) of xs. It errors on an empty slice.
func MeanStd(xs []float64) (mean, std float64, err error) {
	if len(xs) == 0 {
		return 0, 0, fmt.Errorf("stats: mean of no values")
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) == 1 {
		return mean, 0, nil
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1)), nil
}
