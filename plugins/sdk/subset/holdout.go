package subset

import (
	"fmt"
	"math"
	"sort"
)

var nan = float32(math.NaN())

// Holdout returns sorted indices of the examples to hold out of a training
// split for validation: a stratified, seeded fraction of its groups (the
// patients), each group taken whole, so that no patient has images on both
// sides. groups has one entry per example (nil for none); an example with
// an empty group is a group of its own. With every group a single example
// it returns what Stratified returns for the same labels, fraction and seed.
//
// Groups are drawn by Stratified's rule on one label row per group: a label
// is 1 where any of the group's examples has it, 0 where none has it but
// some are labelled, NaN where all of them ignore it. The held-out share of
// the examples is then close to fraction when groups are of similar size.
func Holdout(labels [][]float32, groups []string, fraction float64, seed int64) ([]int, error) {
	if groups != nil && len(groups) != len(labels) {
		return nil, fmt.Errorf("subset: %d groups for %d examples", len(groups), len(labels))
	}
	var (
		members [][]int            // examples of each group, in order of first appearance
		index   = map[string]int{} // group name -> its position in members
	)
	for i := range labels {
		g := ""
		if groups != nil {
			g = groups[i]
		}
		if j, ok := index[g]; ok && g != "" {
			members[j] = append(members[j], i)
			continue
		}
		if g != "" {
			index[g] = len(members)
		}
		members = append(members, []int{i})
	}
	rows := make([][]float32, len(members))
	for j, m := range members {
		rows[j] = groupLabels(labels, m)
	}
	picked, err := Stratified(rows, fraction, seed)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, j := range picked {
		out = append(out, members[j]...)
	}
	sort.Ints(out)
	return out, nil
}

// groupLabels merges the label rows of a group's examples: per label, 1 if
// any is 1, else 0 if any is labelled, else NaN (every example ignores it).
func groupLabels(labels [][]float32, members []int) []float32 {
	if len(members) == 1 {
		return labels[members[0]]
	}
	width := 0
	for _, i := range members {
		width = max(width, len(labels[i]))
	}
	row := make([]float32, width)
	for j := range row {
		v, labelled := float32(0), false
		for _, i := range members {
			if j >= len(labels[i]) {
				continue
			}
			if x := labels[i][j]; x == 1 {
				v, labelled = 1, true
			} else if !math.IsNaN(float64(x)) {
				labelled = true
			}
		}
		if !labelled {
			v = nan
		}
		row[j] = v
	}
	return row
}
