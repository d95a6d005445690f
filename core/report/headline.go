package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// headlineMetrics are the metrics a task is judged by (the paper's Table 1).
var headlineMetrics = map[string]bool{"auc": true, "accuracy": true}

// trainedProtocols are the protocols evaluated at several label fractions.
var trainedProtocols = []string{"linear", "finetune"}

// protocolWords names a protocol in a heading.
var protocolWords = map[string]string{"linear": "linear probe", "finetune": "fine-tuning", "zeroshot": "zero-shot"}

// cellGroup is one task's headline metric under one protocol.
type cellGroup struct{ task, protocol, metric string }

func (g cellGroup) title() string {
	w := protocolWords[g.protocol]
	if w == "" {
		w = g.protocol
	}
	return fmt.Sprintf("%s, %s: %s", g.task, w, metricWords(g.metric))
}

// metricWords spells a metric for an axis: "auc" -> "AUC".
func metricWords(m string) string {
	switch m {
	case "auc":
		return "AUC (mean over labels)"
	case "accuracy":
		return "accuracy"
	}
	return m
}

// groupHeadline gathers the headline entries of the trained protocols by
// task, protocol and metric, in the order of first appearance.
func groupHeadline(entries []results.Entry) ([]cellGroup, map[cellGroup][]results.Entry) {
	return groupBy(entries, func(e results.Entry) (cellGroup, bool) {
		return cellGroup{e.Task, e.Protocol, e.Metric}, headlineMetrics[e.Metric] && slices.Contains(trainedProtocols, e.Protocol)
	})
}

// groupBy gathers the entries that key keeps (its second result) under the
// key it gives them, the keys in the order of their first entry.
func groupBy[K comparable](entries []results.Entry, key func(results.Entry) (K, bool)) ([]K, map[K][]results.Entry) {
	var order []K
	by := map[K][]results.Entry{}
	for _, e := range entries {
		k, ok := key(e)
		if !ok {
			continue
		}
		if _, seen := by[k]; !seen {
			order = append(order, k)
		}
		by[k] = append(by[k], e)
	}
	return order, by
}

// initOrder is inits (the recipe's order) followed by any other init of
// the entries in order of first appearance.
func initOrder(inits []string, entries []results.Entry) []string {
	out := append([]string(nil), inits...)
	for _, e := range entries {
		if !slices.Contains(out, e.Init) {
			out = append(out, e.Init)
		}
	}
	return out
}

// fractions lists the distinct fractions of entries, ascending.
func fractions(entries []results.Entry) []float64 {
	var fs []float64
	for _, e := range entries {
		seen := false
		for _, f := range fs {
			seen = seen || f == e.Fraction
		}
		if !seen {
			fs = append(fs, e.Fraction)
		}
	}
	sort.Float64s(fs)
	return fs
}

// seedCounts says how many seeds the entries' means are over: "5", or
// "3-5" when they differ.
func seedCounts(entries []results.Entry) string {
	lo, hi := -1, 0
	for _, e := range entries {
		n := len(e.Values)
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// cellText prints a mean ± std in percent, as the paper's tables do.
func cellText(e results.Entry) string {
	return fmt.Sprintf("%.1f ± %.1f", 100*e.Mean, 100*e.Std)
}

// headline builds the headline section: per task and protocol, the
// label-efficiency plot (one line per init, a band of ± one standard
// deviation over seeds, the paper's figures dashed beside them when paper
// is set) and its table.
func headline(runDir string, entries []results.Entry, inits []string, paper *PaperNumbers) (Section, error) {
	sec := Section{Title: "Headline: label efficiency"}
	order, by := groupHeadline(entries)
	if len(order) == 0 {
		return sec, nil
	}
	inits = initOrder(inits, entries)
	sec.Intro = fmt.Sprintf("Each task's headline metric against the fraction of training labels the probe or fine-tuning saw, one line per initialisation. "+
		"Lines and table cells are the mean over seeds (random label subsets and probe initialisations); the shaded bands and the ± figures are one standard deviation over seeds (sample std, n−1), over %s seeds.", seedCounts(headEntries(order, by)))
	if paper != nil {
		sec.Intro += " Dashed lines with hollow markers and the “paper” figures are the numbers the ConVIRT paper reports for the same cell (" + paper.Source + "; ~ marks a figure not checked against the PDF)."
	}
	for _, g := range order {
		es := by[g]
		fs := fractions(es)
		idx := map[string]results.Entry{}
		for _, e := range es {
			idx[fmt.Sprintf("%s/%g", e.Init, e.Fraction)] = e
		}
		tb := Table{Title: g.title(), Header: []string{"init"}}
		for _, f := range fs {
			tb.Header = append(tb.Header, percent(f)+" of labels")
		}
		var series []Series
		for _, init := range inits {
			row := []string{init}
			s := Series{Name: init}
			ref := Series{Name: "paper: " + init, Reference: true}
			have := false
			for _, f := range fs {
				e, ok := idx[fmt.Sprintf("%s/%g", init, f)]
				cell := "–"
				if ok {
					have = true
					cell = cellText(e)
					s.X, s.Y, s.Err = append(s.X, f), append(s.Y, e.Mean), append(s.Err, e.Std)
				}
				if paper != nil {
					if c, ok := paper.Lookup(g.task, g.protocol, init, g.metric, f); ok {
						cell += " (paper " + paperText(c) + ")"
						ref.X, ref.Y = append(ref.X, f), append(ref.Y, c.Value())
					}
				}
				row = append(row, cell)
			}
			if !have {
				continue
			}
			tb.Rows = append(tb.Rows, row)
			series = append(series, s)
			if len(ref.X) > 0 {
				series = append(series, ref)
			}
		}
		sec.Tables = append(sec.Tables, tb)
		if len(fs) < 2 {
			continue
		}
		name := fmt.Sprintf("label-efficiency-%s-%s-%s.png", g.task, g.protocol, g.metric)
		if err := LabelEfficiency(filepath.Join(runDir, runs.PlotsDir, name), series, metricWords(g.metric)); err != nil {
			return sec, err
		}
		caption := "Lines: mean over seeds; bands: ± one standard deviation over seeds."
		if paper != nil {
			caption += " Dashed, hollow markers: the paper's figures."
		}
		sec.Figures = append(sec.Figures, Figure{Title: g.title(), Path: filepath.Join(runs.PlotsDir, name), Caption: caption})
	}
	return sec, nil
}

// headEntries lists the entries of the groups.
func headEntries(order []cellGroup, by map[cellGroup][]results.Entry) []results.Entry {
	var out []results.Entry
	for _, g := range order {
		out = append(out, by[g]...)
	}
	return out
}

// paperText prints a paper figure in percent as the paper does, ~ when it
// was not checked against the PDF.
func paperText(c PaperCell) string {
	s := fmt.Sprintf("%.1f", c.Percent)
	if !c.Checked {
		s = "~" + s
	}
	return s
}

// perLabel builds one table per task, protocol and init with a row per
// label ("auc:<label>" entries) and a column per fraction.
func perLabel(entries []results.Entry, inits []string) Section {
	sec := Section{Title: "Per-label results", Intro: "AUC of each label, mean ± one standard deviation over seeds, in percent."}
	type key struct{ task, protocol, init string }
	order, by := groupBy(entries, func(e results.Entry) (key, bool) {
		return key{e.Task, e.Protocol, e.Init}, strings.HasPrefix(e.Metric, "auc:")
	})
	first := map[[2]string]int{}
	for _, k := range order {
		if _, ok := first[[2]string{k.task, k.protocol}]; !ok {
			first[[2]string{k.task, k.protocol}] = len(first)
		}
	}
	rank := map[string]int{}
	for i, init := range initOrder(inits, entries) {
		rank[init] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		fa, fb := first[[2]string{order[a].task, order[a].protocol}], first[[2]string{order[b].task, order[b].protocol}]
		if fa != fb {
			return fa < fb
		}
		return rank[order[a].init] < rank[order[b].init]
	})
	for _, k := range order {
		es := by[k]
		fs := fractions(es)
		tb := Table{Title: fmt.Sprintf("%s, %s, init %s", k.task, protocolWords[k.protocol], k.init), Header: []string{"label"}}
		for _, f := range fs {
			tb.Header = append(tb.Header, percent(f)+" of labels")
		}
		rows := map[string][]string{}
		var labels []string
		for _, e := range es {
			l := strings.TrimPrefix(e.Metric, "auc:")
			if rows[l] == nil {
				labels = append(labels, l)
				rows[l] = make([]string, len(fs))
				for i := range rows[l] {
					rows[l][i] = "–"
				}
			}
			for i, f := range fs {
				if f == e.Fraction {
					rows[l][i] = cellText(e)
				}
			}
		}
		for _, l := range labels {
			tb.Rows = append(tb.Rows, append([]string{l}, rows[l]...))
		}
		sec.Tables = append(sec.Tables, tb)
	}
	return sec
}
