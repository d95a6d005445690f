package bench

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Steps collects the durations of timed steps after a number of untimed
// warm-up steps.
type Steps struct {
	Warmup int
	durs   []time.Duration
	seen   int
}

// Add records the duration of the next step; warm-up steps are dropped.
func (s *Steps) Add(d time.Duration) {
	s.seen++
	if s.seen > s.Warmup {
		s.durs = append(s.durs, d)
	}
}

// Timed is the number of timed steps so far.
func (s *Steps) Timed() int { return len(s.durs) }

// Mean is the mean timed step in seconds (0 before any).
func (s *Steps) Mean() float64 {
	if len(s.durs) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range s.durs {
		t += d
	}
	return t.Seconds() / float64(len(s.durs))
}

// Median is the median timed step in seconds (0 before any): on a machine
// shared with other work it is steadier than the mean.
func (s *Steps) Median() float64 {
	secs := make([]float64, len(s.durs))
	for i, d := range s.durs {
		secs[i] = d.Seconds()
	}
	return Median(secs)
}

// Median is the median of xs (0 when empty); xs is not changed.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	d := append([]float64(nil), xs...)
	sort.Float64s(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// Overhead is the relative cost of a over the reference ref: (a-ref)/ref.
// It is NaN when ref is not positive.
func Overhead(a, ref float64) float64 {
	if ref <= 0 {
		return math.NaN()
	}
	return (a - ref) / ref
}

// Ratio is a/b, NaN when b is zero.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Growth is the relative change of total resident memory from the first
// snapshot at or after step from to the last snapshot: (last-first)/first.
func Growth(snaps []Snapshot, from int) (float64, int, error) {
	first := -1
	for i, s := range snaps {
		if s.Step >= from {
			first = i
			break
		}
	}
	if first < 0 || first == len(snaps)-1 {
		return 0, 0, fmt.Errorf("bench: need two memory samples from step %d on, have %d in all", from, len(snaps))
	}
	a, b := snaps[first], snaps[len(snaps)-1]
	return Overhead(b.TotalMB, a.TotalMB), a.Step, nil
}

// PerSec is items per second for a step of secPerStep seconds.
func PerSec(items int, secPerStep float64) float64 {
	if secPerStep <= 0 {
		return 0
	}
	return float64(items) / secPerStep
}

// Finite replaces NaN and infinities by 0, since JSON has no encoding for
// them.
func Finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
