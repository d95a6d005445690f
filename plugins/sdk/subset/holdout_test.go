package subset

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// patients returns labels and groups of n patients with 1-4 images each
// (CheXpert-like: a patient's studies share findings more often than not),
// and the number of images.
func patients(n int) (labels [][]float32, groups []string) {
	for p := range n {
		imgs := 1 + (p*7)%4
		for k := range imgs {
			row := []float32{0, 0}
			if (p*13+k)%5 == 0 {
				row[0] = 1
			}
			if p%17 == 0 {
				row[1] = 1
			}
			labels = append(labels, row)
			groups = append(groups, fmt.Sprintf("patient%05d", p))
		}
	}
	return labels, groups
}

// TestHoldoutKeepsPatientsWhole: no patient has images both in the held-out
// rows and in the rest, every label keeps positives on both sides, and the
// held-out share is near the fraction. Holding out rows one by one (what
// Stratified alone does, and what the evaluators did) splits patients.
func TestHoldoutKeepsPatientsWhole(t *testing.T) {
	labels, groups := patients(400)
	split := func(idx []int) (straddling int) {
		in := make([]bool, len(labels))
		for _, i := range idx {
			in[i] = true
		}
		side := map[string]map[bool]bool{}
		for i, g := range groups {
			if side[g] == nil {
				side[g] = map[bool]bool{}
			}
			side[g][in[i]] = true
		}
		for _, s := range side {
			if len(s) == 2 {
				straddling++
			}
		}
		return straddling
	}
	held, err := Holdout(labels, groups, 0.1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := split(held); n != 0 {
		t.Errorf("%d patients on both sides of the holdout", n)
	}
	if share := float64(len(held)) / float64(len(labels)); math.Abs(share-0.1) > 0.03 {
		t.Errorf("held out %d of %d images (%.3f), want about 0.1", len(held), len(labels), share)
	}
	for j := range 2 {
		var in, out int
		isHeld := map[int]bool{}
		for _, i := range held {
			isHeld[i] = true
		}
		for i, l := range labels {
			if l[j] == 1 && isHeld[i] {
				in++
			} else if l[j] == 1 {
				out++
			}
		}
		if in == 0 || out == 0 {
			t.Errorf("label %d: %d positives held out, %d kept", j, in, out)
		}
	}
	again, _ := Holdout(labels, groups, 0.1, 0)
	other, _ := Holdout(labels, groups, 0.1, 1)
	if !reflect.DeepEqual(held, again) || reflect.DeepEqual(held, other) {
		t.Error("the holdout must be a function of labels, groups, fraction and seed")
	}
	// The row-wise draw this replaces puts patients on both sides.
	rowwise, _ := Stratified(labels, 0.1, 0)
	if split(rowwise) == 0 {
		t.Error("the row-wise holdout kept every patient whole: the fixture has too few multi-image patients")
	}
}

// TestHoldoutWithoutGroups: with no groups (or only empty ones), every
// example is its own group and the result is Stratified's.
func TestHoldoutWithoutGroups(t *testing.T) {
	l := data(500)
	want, _ := Stratified(l, 0.1, 7)
	for _, groups := range [][]string{nil, make([]string, len(l))} {
		got, err := Holdout(l, groups, 0.1, 7)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("groups %v...: %v %v, want Stratified's %v", groups[:min(3, len(groups))], got, err, want)
		}
	}
	if _, err := Holdout(l, []string{"a"}, 0.1, 0); err == nil {
		t.Error("1 group for 500 examples accepted")
	}
	if _, err := Holdout(l, nil, 0, 0); err == nil {
		t.Error("fraction 0 accepted")
	}
}

func TestGroupLabels(t *testing.T) {
	n := float32(math.NaN())
	l := [][]float32{{0, n, n}, {1, 0, n}, {0, n, n}}
	got := groupLabels(l, []int{0, 1, 2})
	if got[0] != 1 || got[1] != 0 || got[2] == got[2] {
		t.Errorf("merged %v, want [1 0 NaN]", got)
	}
}
