package runs

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// Comparison is what `convirt runs compare` and `runs list` set side by
// side: each run's params and final metrics, and the union of their keys,
// sorted.
type Comparison struct {
	Runs       []Meta
	Params     []map[string]string // per run, in the order of Runs
	Finals     []map[string]Metric // per run: the last value of each metric
	ParamKeys  []string
	MetricKeys []string
}

// Compare reads the params and final metrics of the runs ms; a run whose
// files cannot be read is an error.
func Compare(ms []Meta) (*Comparison, error) { return load(ms, nil) }

// load is Compare; with warn set, a run whose params or metrics cannot be
// read is passed to warn and kept with what could be read, so that one
// damaged run does not hide the others from a listing.
func load(ms []Meta, warn func(error)) (*Comparison, error) {
	c := &Comparison{Runs: ms, Params: make([]map[string]string, len(ms)), Finals: make([]map[string]Metric, len(ms))}
	pkeys, mkeys := map[string]bool{}, map[string]bool{}
	for i, m := range ms {
		c.Params[i], c.Finals[i] = map[string]string{}, map[string]Metric{}
		r, err := Open(m.Dir)
		if err == nil {
			c.Params[i] = r.Params()
		} else if warn == nil {
			return nil, err
		} else {
			warn(err)
		}
		metrics, err := ReadMetrics(m.Dir)
		if err != nil {
			if warn == nil {
				return nil, err
			}
			warn(err)
		}
		c.Finals[i] = Final(metrics)
		for k := range c.Params[i] {
			pkeys[k] = true
		}
		for k := range c.Finals[i] {
			mkeys[k] = true
		}
	}
	c.ParamKeys, c.MetricKeys = slices.Sorted(maps.Keys(pkeys)), slices.Sorted(maps.Keys(mkeys))
	return c, nil
}

// ParamDiffers reports whether param k differs between the runs: some run
// lacks it, or has another value than the first run's.
func (c *Comparison) ParamDiffers(k string) bool {
	first, ok0 := c.Params[0][k]
	for _, p := range c.Params {
		if v, ok := p[k]; !ok || !ok0 || v != first {
			return true
		}
	}
	return false
}

// CompareOptions choose the metric rows of WriteText.
type CompareOptions struct {
	// Filter selects the metric rows; nil shows the headline metrics
	// (Headline) and says how many others there are.
	Filter Patterns
	// All shows every metric.
	All bool
}

// WriteText prints the comparison for a terminal: one column per run (its
// short id), the runs' names, experiments and status, the params that
// differ (and how many agree), then the chosen metrics' final values,
// each later run's with its difference to the first run's.
func (c *Comparison) WriteText(w io.Writer, o CompareOptions) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label string, cells []string) {
		fmt.Fprint(tw, label)
		for _, s := range cells {
			fmt.Fprint(tw, "\t"+s)
		}
		fmt.Fprintln(tw)
	}
	cells := func(f func(i int, m Meta) string) []string {
		out := make([]string, len(c.Runs))
		for i, m := range c.Runs {
			out[i] = f(i, m)
		}
		return out
	}
	ids := cells(func(_ int, m Meta) string { return ShortID(m.ID) })
	row("run", ids)
	row("name", cells(func(_ int, m Meta) string { return dash(m.Name) }))
	row("experiment", cells(func(_ int, m Meta) string { return m.Experiment }))
	row("status", cells(func(_ int, m Meta) string { return string(m.Status) }))
	if err := tw.Flush(); err != nil { // a line without cells ends a block of columns
		return err
	}

	same := 0
	var differ []string
	for _, k := range c.ParamKeys {
		if c.ParamDiffers(k) {
			differ = append(differ, k)
		} else {
			same++
		}
	}
	fmt.Fprintf(tw, "\nparams that differ (%d equal):\n", same)
	if len(differ) > 0 {
		row("  param", ids)
	} else {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, k := range differ {
		row("  "+k, cells(func(i int, _ Meta) string {
			v, ok := c.Params[i][k]
			if !ok {
				return "-"
			}
			return Truncate(v, 40)
		}))
	}

	keys, title := Headline(c.MetricKeys), "headline metrics"
	switch {
	case o.All:
		keys, title = c.MetricKeys, "metrics"
	case o.Filter != nil:
		keys, title = o.Filter.Select(c.MetricKeys), "metrics matching "+o.Filter.String()
	}
	fmt.Fprintf(tw, "\n%s, final values (change against %s):\n", title, ids[0])
	if len(keys) > 0 {
		row("  metric", ids)
	} else {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, k := range keys {
		row("  "+k, cells(func(i int, _ Meta) string { return c.cell(i, k) }))
	}
	if rest := len(c.MetricKeys) - len(keys); rest > 0 && !o.All {
		fmt.Fprintf(tw, "  (%d more metrics: --filter PATTERN, e.g. --filter 'auc:*', or --all)\n", rest)
	}
	return tw.Flush()
}

// cell is run i's final value of metric k, with its change against the
// first run's when both have it.
func (c *Comparison) cell(i int, k string) string {
	m, ok := c.Finals[i][k]
	if !ok {
		return "-"
	}
	s := FormatValue(m.Value)
	if first, ok := c.Finals[0][k]; ok && i > 0 {
		s += " (" + FormatDelta(first.Value, m.Value) + ")"
	}
	return s
}

// ShortID is the first 8 characters of a run id, as listings print it;
// Find accepts it back.
func ShortID(id string) string { return id[:min(8, len(id))] }

// Truncate shortens s to at most n characters, marking the cut with "…".
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
