package preflight

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing a run needs that is missing or wrong.
type Problem struct {
	// Where lists the recipe keys that need it (several evaluations may
	// share a dataset), e.g. "evaluate[rsna-linear].dataset.config.root".
	Where []string
	// What is wrong, naming the file, folder, plugin or device.
	What string
	// Fix says what to do about it.
	Fix string
}

// String is the problem on two lines: where and what, then the fix.
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s\n    fix: %s", strings.Join(p.Where, ", "), p.What, p.Fix)
}

// Problems are every problem found, in the order of the recipe's keys.
type Problems []Problem

// Error lists every problem, one per paragraph.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) before the run can start:\n%s", len(ps), strings.Join(lines, "\n"))
}

// merge joins the problems with the same what and fix, keeping the first
// one's place in the order.
func merge(ps Problems) Problems {
	var out Problems
	at := map[string]int{}
	for _, p := range ps {
		key := p.What + "\x00" + p.Fix
		i, seen := at[key]
		if !seen {
			at[key] = len(out)
			out = append(out, Problem{What: p.What, Fix: p.Fix})
			i = len(out) - 1
		}
		for _, w := range p.Where {
			if !slices.Contains(out[i].Where, w) {
				out[i].Where = append(out[i].Where, w)
			}
		}
	}
	return out
}
