// Package subset draws the labelled subsets of the 1%/10%/100% experiments:
// stratified, seeded, and a function of (labels, fraction, seed) only, so
// every encoder compared is probed on the same images. It is part of the
// plugin contract because the host (fine-tuning's training rows and
// validation holdout) and the evaluators (the linear probe's) must draw the
// same subsets.
package subset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Stratified returns sorted indices of a ceil(fraction*N) subset of the
// examples whose labels are given (one row per example; NaN = ignored).
// Each class (each label's positives, and for a single binary label also its
// negatives) gets at least round(fraction * its count) members and at least
// one where the data has any, even when that makes the subset slightly
// larger than ceil(fraction*N); the rest is filled in seeded random order.
func Stratified(labels [][]float32, fraction float64, seed int64) ([]int, error) {
	n := len(labels)
	if fraction <= 0 || fraction > 1 || math.IsNaN(fraction) {
		return nil, fmt.Errorf("subset: fraction %v outside (0,1]", fraction)
	}
	if fraction == 1 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5EED))
	order := rng.Perm(n)
	classes := classesOf(labels)
	// Rarest class first, so its members are placed before common ones fill up.
	sort.SliceStable(classes, func(a, b int) bool { return len(classes[a]) < len(classes[b]) })
	in := make([]bool, n)
	var out []int
	add := func(i int) {
		if !in[i] {
			in[i] = true
			out = append(out, i)
		}
	}
	rank := make([]int, n)
	for r, i := range order {
		rank[i] = r
	}
	for _, members := range classes {
		if len(members) == 0 {
			continue
		}
		want := max(1, int(math.Round(fraction*float64(len(members)))))
		sort.Slice(members, func(a, b int) bool { return rank[members[a]] < rank[members[b]] })
		have := 0
		for _, i := range members {
			if in[i] {
				have++
			}
		}
		for _, i := range members {
			if have >= want {
				break
			}
			if !in[i] {
				add(i)
				have++
			}
		}
	}
	target := int(math.Ceil(fraction * float64(n)))
	for _, i := range order {
		if len(out) >= target {
			break
		}
		add(i)
	}
	sort.Ints(out)
	return out, nil
}

// classesOf lists, per class, the examples that belong to it.
func classesOf(labels [][]float32) [][]int {
	width := 0
	for _, l := range labels {
		width = max(width, len(l))
	}
	cls := make([][]int, width)
	var neg []int
	for i, l := range labels {
		for j, v := range l {
			if v == 1 {
				cls[j] = append(cls[j], i)
			}
		}
		if width == 1 && len(l) == 1 && l[0] == 0 {
			neg = append(neg, i)
		}
	}
	if width == 1 {
		cls = append(cls, neg)
	}
	return cls
}
