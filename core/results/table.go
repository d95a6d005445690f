package results

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Column is one column of a Table 1 layout: a task's metric at one label
// fraction.
type Column struct {
	Task     string
	Metric   string
	Fraction float64
}

// Table1 renders the entries of one protocol as the paper's Table 1: one row
// per init (in the given order), one column per task x fraction, cells
// "mean ± std" in percent with one decimal; "–" where no entry exists.
func Table1(entries []Entry, protocol string, inits []string, cols []Column) string {
	idx := map[string]Entry{}
	for _, e := range entries {
		if e.Protocol == protocol {
			idx[key(e.Task, e.Init, e.Metric, e.Fraction)] = e
		}
	}
	var b strings.Builder
	b.WriteString("| init |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s %s %s |", c.Task, c.Metric, pct(c.Fraction))
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(cols)))
	b.WriteString("\n")
	for _, init := range inits {
		fmt.Fprintf(&b, "| %s |", init)
		for _, c := range cols {
			if e, ok := idx[key(c.Task, init, c.Metric, c.Fraction)]; ok {
				fmt.Fprintf(&b, " %.1f ± %.1f |", 100*e.Mean, 100*e.Std)
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Table1Note is the footnote of a Table1 of protocol over cols: what a
// cell is, where the intervals are, and, where a column is at 100% of the
// labels, what the spread there means (the NoteAllLabels and NoteIdentical
// of the entries).
func Table1Note(entries []Entry, protocol string, cols []Column) string {
	want := map[string]bool{}
	for _, c := range cols {
		want[key(c.Task, "", c.Metric, c.Fraction)] = true
	}
	seeds := map[int]bool{}
	var full, fullSame int
	for _, e := range entries {
		if e.Protocol != protocol || !want[key(e.Task, "", e.Metric, e.Fraction)] {
			continue
		}
		seeds[len(e.Seeds)] = true
		if e.Fraction == 1 && len(e.Seeds) > 1 {
			full++
			if slices.Contains(e.Notes, NoteIdentical) {
				fullSame++
			}
		}
	}
	if len(seeds) == 1 && seeds[1] {
		return "Cells: one run each (no seeds), in percent, so ± 0.0 is no spread. " +
			"results.json holds the test-set bootstrap interval (test_bootstrap95)."
	}
	n := "per cell in results.json"
	if len(seeds) == 1 {
		for k := range seeds {
			n = fmt.Sprintf("%d", k)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Cells: mean ± sample standard deviation over the seeds (n = %s), in percent. "+
		"results.json holds the Student-t 95%% interval over the seeds (seed_t95) and, separately, the test-set bootstrap interval (test_bootstrap95).", n)
	if full > 0 {
		b.WriteString(" At 100% of the labels every seed trains on the same examples, so the seeds differ only by the probe's own randomness")
		switch fullSame {
		case full:
			b.WriteString("; there the seeds gave identical values: ± 0.0 means nothing varied, not an exact estimate.")
		case 0:
			b.WriteString(".")
		default:
			fmt.Fprintf(&b, "; in %d of those %d cells the seeds gave identical values (± 0.0: nothing varied).", fullSame, full)
		}
	}
	return b.String()
}

// RetrievalNote is the footnote of a RetrievalTable.
const RetrievalNote = "Retrieval trains nothing: one run per cell, so ± 0.0 is no spread. " +
	"results.json holds the bootstrap interval over the queries (test_bootstrap95)."

// Columns lists the task x metric x fraction columns present in entries of a
// protocol, sorted by task, metric and fraction.
func Columns(entries []Entry, protocol string) []Column {
	seen := map[Column]bool{}
	var cols []Column
	for _, e := range entries {
		c := Column{e.Task, e.Metric, e.Fraction}
		if e.Protocol == protocol && !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	slices.SortFunc(cols, func(a, b Column) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Fraction, b.Fraction))
	})
	return cols
}

// RetrievalTable renders retrieval entries (protocols named in protocols,
// e.g. "retrieval-image" and "retrieval-text"; metrics "p@5", "p@10",
// "p@50") as one row per init x protocol and one column per metric, cells
// "mean ± std" in percent.
func RetrievalTable(entries []Entry, protocols, inits, metrics []string) string {
	idx := map[string]Entry{}
	for _, e := range entries {
		idx[e.Protocol+"\x00"+e.Init+"\x00"+e.Metric] = e
	}
	var b strings.Builder
	b.WriteString("| init | protocol |")
	for _, m := range metrics {
		fmt.Fprintf(&b, " %s |", m)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(metrics)))
	b.WriteString("\n")
	for _, init := range inits {
		for _, p := range protocols {
			row := fmt.Sprintf("| %s | %s |", init, p)
			any := false
			for _, m := range metrics {
				if e, ok := idx[p+"\x00"+init+"\x00"+m]; ok {
					row += fmt.Sprintf(" %.1f ± %.1f |", 100*e.Mean, 100*e.Std)
					any = true
				} else {
					row += " – |"
				}
			}
			if any {
				b.WriteString(row + "\n")
			}
		}
	}
	return b.String()
}

func key(task, init, metric string, fraction float64) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%g", task, init, metric, fraction)
}

// pct formats a label fraction as the paper does: 0.01 -> "1%".
func pct(f float64) string { return fmt.Sprintf("%.4g%%", 100*f) }
