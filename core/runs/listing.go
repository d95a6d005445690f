package runs

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Default column limits of a listing whose columns were not chosen.
const (
	DefaultListParams  = 4
	DefaultListMetrics = 6
)

// ListOptions choose a listing's columns (Listing.Sort its order).
type ListOptions struct {
	// Params selects param columns; nil: the params that differ between
	// the runs (but name and experiment, which have their own columns), at
	// most DefaultListParams.
	Params Patterns
	// Metrics selects metric columns (final values); nil: the
	// PretrainedHeadline metrics of the runs, at most DefaultListMetrics.
	Metrics Patterns
	// Warn receives a run whose params or metrics cannot be read; the run
	// is listed without them. Nil ignores such runs' errors.
	Warn func(error)
}

// ParseStatus reads a status filter: "" (any), running, finished, failed
// or killed.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if st != "" && !slices.Contains([]Status{Running, Finished, Failed, Killed}, st) {
		return "", fmt.Errorf("status %q: want running, finished, failed or killed", s)
	}
	return st, nil
}

// FindParent returns the full id of the sweep parent id names under root:
// as Find takes it (a prefix, a folder), or the full id of a parent that
// was removed while its children remain.
func FindParent(root, id string) (string, error) {
	m, err := Find(root, id)
	if err == nil {
		return m.ID, nil
	}
	if kids, _ := Children(root, id); len(kids) > 0 {
		return id, nil
	}
	return "", err
}

// Listing is what `convirt runs list` prints: the runs, one row each, with
// their chosen param and metric columns.
type Listing struct {
	*Comparison
	ParamCols, MetricCols []string
	// LeftParams and LeftMetrics are the default columns left out by the
	// limits; the listing names them and says how to choose them.
	LeftParams, LeftMetrics []string
	opts                    ListOptions
}

// NewListing reads the runs ms (as List returns them, newest first) and
// picks the columns o asks for.
func NewListing(ms []Meta, o ListOptions) (*Listing, error) {
	warn := o.Warn
	if warn == nil {
		warn = func(error) {}
	}
	c, err := load(ms, warn)
	if err != nil {
		return nil, err
	}
	l := &Listing{Comparison: c, opts: o}
	if o.Params != nil {
		l.ParamCols = o.Params.Select(c.ParamKeys)
	} else if len(ms) > 1 {
		for _, k := range c.ParamKeys {
			if k != "name" && k != "experiment" && c.ParamDiffers(k) {
				l.ParamCols = append(l.ParamCols, k)
			}
		}
		l.ParamCols, l.LeftParams = limit(l.ParamCols, DefaultListParams)
	}
	if o.Metrics != nil {
		l.MetricCols = o.Metrics.Select(c.MetricKeys)
	} else {
		l.MetricCols, l.LeftMetrics = limit(PretrainedHeadline(c.MetricKeys), DefaultListMetrics)
	}
	return l, nil
}

func limit(s []string, n int) (kept, left []string) {
	if len(s) <= n {
		return s, nil
	}
	return s[:n], s[n:]
}

// metricHeaders and paramHeaders are the column headers of metrics (at
// least two parts: "val/loss", not "loss") and params ("tau").
func metricHeaders(cols []string) []string { return ShortNames(cols, "/", 2) }
func paramHeaders(cols []string) []string  { return ShortNames(cols, ".", 1) }

// Write prints the listing as a table: id (short), name, experiment,
// status, start, duration, then the param and metric columns under short
// headers (ShortNames), and notes on columns left out or matching nothing.
func (l *Listing) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"ID", "NAME", "EXPERIMENT", "STATUS", "START", "DURATION"}
	mh := metricHeaders(l.MetricCols)
	head = append(head, paramHeaders(l.ParamCols)...)
	head = append(head, mh...)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i, m := range l.Runs {
		cells := []string{ShortID(m.ID), dash(m.Name), m.Experiment, string(m.Status),
			m.StartTime.Local().Format("2006-01-02 15:04"), m.Duration().Round(time.Second).String()}
		for _, k := range l.ParamCols {
			v, ok := l.Params[i][k]
			if !ok {
				v = "-"
			}
			cells = append(cells, Truncate(v, 24))
		}
		for _, k := range l.MetricCols {
			v := "-"
			if m, ok := l.Finals[i][k]; ok {
				v = FormatValue(m.Value)
			}
			cells = append(cells, v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	legend := false
	for i, h := range mh {
		if h != l.MetricCols[i] {
			if !legend {
				fmt.Fprintln(tw, "\nmetric columns, final values:")
				legend = true
			}
			fmt.Fprintf(tw, "  %s\t%s\n", h, l.MetricCols[i])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	if n := len(l.LeftParams); n > 0 {
		notes = append(notes, fmt.Sprintf("%d more params differ: %s; choose columns with --params", n, names(l.LeftParams, 5)))
	}
	if n := len(l.LeftMetrics); n > 0 {
		notes = append(notes, fmt.Sprintf("%d more headline metrics: %s; choose columns with --metrics, e.g. --metrics 'val/loss,linear/*/auc'", n, names(l.LeftMetrics, 3)))
	}
	if l.opts.Params != nil && len(l.ParamCols) == 0 {
		notes = append(notes, fmt.Sprintf("no param matches --params %s", l.opts.Params))
	}
	if l.opts.Metrics != nil && len(l.MetricCols) == 0 {
		notes = append(notes, fmt.Sprintf("no metric matches --metrics %s", l.opts.Metrics))
	}
	for _, n := range notes {
		if _, err := fmt.Fprintf(w, "(%s)\n", n); err != nil {
			return err
		}
	}
	return nil
}

// names lists up to n of s, then how many more.
func names(s []string, n int) string {
	out := strings.Join(s[:min(n, len(s))], ", ")
	if len(s) > n {
		out += fmt.Sprintf(", ... (%d more)", len(s)-n)
	}
	return out
}
