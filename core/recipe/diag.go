package recipe

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diagnostic is one problem with a recipe: the file and line at fault (Line
// 0 when unknown; File "--set k=v" for an override), the dotted key path, what is
// wrong, and the closest valid key or value when there is one.
type Diagnostic struct {
	File       string
	Line       int
	Path       string
	Message    string
	Suggestion string
}

// String renders the diagnostic as
// `FILE:LINE: key a.b.c: message (did you mean "x"?)`.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if d.Path != "" {
		fmt.Fprintf(&b, "key %s: ", d.Path)
	}
	b.WriteString(d.Message)
	if d.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", d.Suggestion)
	}
	return b.String()
}

// Diagnostics is the error Load returns when a recipe has problems: all of
// them, one per line, sorted by file and line.
type Diagnostics []Diagnostic

// Error renders every diagnostic on its own line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// sortDiagnostics orders by file, line, then path, and drops exact duplicates.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Path, b.Path))
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}
