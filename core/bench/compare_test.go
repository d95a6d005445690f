package bench

import (
	"errors"
	"strings"
	"testing"
)

// TestCompare divides each field of a by b's (the same field, or the one
// after "="), reducing each side as asked, and names the side a field is
// missing from.
func TestCompare(t *testing.T) {
	a := []Record{{"sec_per_step": 1.0}, {"sec_per_step": 5.0}, {"sec_per_step": 3.0, "inprocess": map[string]any{"sec_per_step": 1.5}}}
	b := []Record{{"sec_per_step": 4.0}, {"sec_per_step": 2.0}}
	lines, err := Compare(a, b, []string{"sec_per_step", " ", "inprocess.sec_per_step=sec_per_step"}, ReduceLast)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != (RatioLine{Field: "sec_per_step", RunsA: 1, RunsB: 1, A: 3, B: 2, Ratio: 1.5}) ||
		lines[1].Field != "inprocess.sec_per_step=sec_per_step" || lines[1].Ratio != 0.75 {
		t.Errorf("last: %+v", lines)
	}
	lines, err = Compare(a, b, []string{"sec_per_step"}, ReduceMedian)
	if err != nil || len(lines) != 1 || lines[0] != (RatioLine{Field: "sec_per_step", RunsA: 3, RunsB: 2, A: 3, B: 3, Ratio: 1}) {
		t.Errorf("median: %+v, %v", lines, err)
	}
	if _, err := Compare(a, b, []string{"inprocess.sec_per_step"}, ReduceLast); err == nil || !strings.Contains(err.Error(), "second file") {
		t.Errorf("field missing from b: %v", err)
	}
	if _, err := Compare(a, b, []string{"", " "}, ReduceLast); !errors.Is(err, ErrNoField) {
		t.Errorf("no field: %v", err)
	}
}
