// Package metrics computes the evaluation metrics of the paper's protocols:
// ROC AUC (as the Mann-Whitney statistic) and ROC curves, accuracy,
// Precision@k, and seeded bootstrap intervals. Everything is plain Go on
// float64 slices. The mean and standard deviation over seeds, which the
// host computes again, are plugins/sdk/stats'; the Student-t interval over
// seeds is the host's (core/results).
package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrOneClass is returned by AUC and ROC when the labels hold only positives
// or only negatives, where the AUC is undefined.
var ErrOneClass = errors.New("metrics: only one class present")

// pairs returns the (score, label) pairs with a known label, checking that
// labels are 0, 1 or NaN (unknown, skipped) and scores are not NaN.
func pairs(scores, labels []float64) (s []float64, pos []bool, npos, nneg int, err error) {
	if len(scores) != len(labels) {
		return nil, nil, 0, 0, fmt.Errorf("metrics: %d scores but %d labels", len(scores), len(labels))
	}
	for i, y := range labels {
		if math.IsNaN(y) {
			continue
		}
		if y != 0 && y != 1 {
			return nil, nil, 0, 0, fmt.Errorf("metrics: label %d is %v, want 0, 1 or NaN", i, y)
		}
		if math.IsNaN(scores[i]) {
			return nil, nil, 0, 0, fmt.Errorf("metrics: score %d is NaN", i)
		}
		s = append(s, scores[i])
		pos = append(pos, y == 1)
		if y == 1 {
			npos++
		} else {
			nneg++
		}
	}
	if npos == 0 || nneg == 0 {
		return nil, nil, 0, 0, fmt.Errorf("%w (%d positives, %d negatives)", ErrOneClass, npos, nneg)
	}
	return s, pos, npos, nneg, nil
}

// AUC returns the area under the ROC curve of scores against binary labels
// (1 positive, 0 negative, NaN unknown and skipped): the probability that a
// random positive scores above a random negative, ties counting one half
// (the Mann-Whitney U statistic over npos*nneg). It returns ErrOneClass
// (wrapped) when only one class is present.
func AUC(scores, labels []float64) (float64, error) {
	s, pos, npos, nneg, err := pairs(scores, labels)
	if err != nil {
		return 0, err
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	// Sum of the positives' ranks, ties getting their average rank.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && s[idx[j]] == s[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				rankSum += avg
			}
		}
		i = j
	}
	u := rankSum - float64(npos)*float64(npos+1)/2
	return u / (float64(npos) * float64(nneg)), nil
}

// Point is one point of a ROC curve: at threshold t, everything scoring >= t
// is called positive.
type Point struct {
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"`
	Threshold float64 `json:"threshold"`
}

// ROC returns the ROC curve of scores against binary labels (as for AUC):
// one point per distinct score, from (0, 0) at threshold +Inf to (1, 1), so
// that the trapezoidal area under the points equals AUC.
func ROC(scores, labels []float64) ([]Point, error) {
	s, pos, npos, nneg, err := pairs(scores, labels)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	pts := []Point{{0, 0, math.Inf(1)}}
	var tp, fp int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && s[idx[j]] == s[idx[i]] {
			if pos[idx[j]] {
				tp++
			} else {
				fp++
			}
			j++
		}
		pts = append(pts, Point{FPR: float64(fp) / float64(nneg), TPR: float64(tp) / float64(npos), Threshold: s[idx[i]]})
		i = j
	}
	return pts, nil
}

// TrapezoidArea is the area under a curve given as points in increasing FPR.
func TrapezoidArea(pts []Point) float64 {
	var a float64
	for i := 1; i < len(pts); i++ {
		a += (pts[i].FPR - pts[i-1].FPR) * (pts[i].TPR + pts[i-1].TPR) / 2
	}
	return a
}
