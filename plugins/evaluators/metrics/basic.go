package metrics

import (
	"fmt"
	"math"
)

// Accuracy returns the fraction of predictions equal to the truth.
func Accuracy(pred, truth []int) (float64, error) {
	if len(pred) != len(truth) {
		return 0, fmt.Errorf("metrics: %d predictions but %d labels", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return 0, fmt.Errorf("metrics: accuracy of no examples")
	}
	var ok int
	for i := range pred {
		if pred[i] == truth[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred)), nil
}

// Argmax returns the index of the largest entry of each row (the first one
// on ties); it errors on an empty row or a NaN.
func Argmax(scores [][]float64) ([]int, error) {
	out := make([]int, len(scores))
	for i, row := range scores {
		if len(row) == 0 {
			return nil, fmt.Errorf("metrics: row %d has no scores", i)
		}
		best := 0
		for j, x := range row {
			if math.IsNaN(x) {
				return nil, fmt.Errorf("metrics: score [%d][%d] is NaN", i, j)
			}
			if x > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out, nil
}

// PrecisionAtK is the fraction of the first k entries of a ranking that are
// relevant. relevant is in ranked order and must hold at least k entries.
func PrecisionAtK(relevant []bool, k int) (float64, error) {
	if k <= 0 {
		return 0, fmt.Errorf("metrics: precision@%d: k must be > 0", k)
	}
	if len(relevant) < k {
		return 0, fmt.Errorf("metrics: precision@%d of a ranking of %d items", k, len(relevant))
	}
	var n int
	for _, r := range relevant[:k] {
		if r {
			n++
		}
	}
	return float64(n) / float64(k), nil
}
