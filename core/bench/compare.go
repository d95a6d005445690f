package bench

import (
	"errors"
	"fmt"
	"strings"
)

// RatioLine is one compared field of two benchmark records (`convirt bench
// ratio`).
type RatioLine struct {
	Field string `json:"field"`
	// RunsA and RunsB count the records reduced on each side.
	RunsA int     `json:"runs_a"`
	RunsB int     `json:"runs_b"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Ratio float64 `json:"ratio"`
}

// ErrNoField is Compare's error when fields names none.
var ErrNoField = errors.New("no field to compare")

// Compare returns a/b for each field (a name, dots reaching nested ones, or
// A_FIELD=B_FIELD to compare different fields), each side reduced over its
// records as how says (Reduce).
func Compare(a, b []Record, fields []string, how string) ([]RatioLine, error) {
	var out []RatioLine
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		fa, fb, ok := strings.Cut(f, "=")
		if !ok {
			fb = fa
		}
		x, err := Reduce(a, fa, how)
		if err != nil {
			return nil, fmt.Errorf("first file: %w", err)
		}
		y, err := Reduce(b, fb, how)
		if err != nil {
			return nil, fmt.Errorf("second file: %w", err)
		}
		line := RatioLine{Field: f, RunsA: len(a), RunsB: len(b), A: x, B: y, Ratio: Finite(Ratio(x, y))}
		if how == ReduceLast {
			line.RunsA, line.RunsB = 1, 1
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, ErrNoField
	}
	return out, nil
}
