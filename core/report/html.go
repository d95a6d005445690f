package report

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/convirt/convirt/core/runs"
)

// Page is the content of report.html, in the order it is shown: the
// header (Meta), the Sections, then Tables and Figures not in a section,
// then the parameters and the raw final metrics, both collapsed.
type Page struct {
	Title    string
	Meta     [][2]string // label, value rows shown first (id, status, ...)
	Sections []Section
	Params   map[string]string
	Metrics  map[string]float64 // final metrics
	Tables   []Table
	Figures  []Figure
}

// Section is one titled part of the page: an introduction saying what its
// numbers are, tables, figures and retrieval examples; Collapsed shows it
// closed (<details>).
type Section struct {
	Title     string
	Intro     string
	Tables    []Table
	Figures   []Figure
	Retrieval []RetrievalExample
	Collapsed bool
}

// Table is a results table, e.g. AUC per method and label fraction.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	Note   string
}

// Figure is a PNG shown in the page; Path is relative to the run directory
// (or absolute). The image is embedded, so the page has no outside files.
type Figure struct {
	Title   string
	Path    string
	Caption string
}

// ParseMarkdownTable reads a pipe table:
//
//	| method | 1% | 10% |
//	|---|---|---|
//	| ConVIRT | 0.91 | 0.96 |
func ParseMarkdownTable(title, md string) (Table, error) {
	t := Table{Title: title}
	for i, line := range strings.Split(strings.TrimSpace(md), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			return t, fmt.Errorf("markdown table %q line %d: does not start with '|'", title, i+1)
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		switch {
		case i == 0:
			t.Header = cells
		case i == 1 && strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// alignment row
		default:
			if len(cells) != len(t.Header) {
				return t, fmt.Errorf("markdown table %q line %d: %d cells, header has %d", title, i+1, len(cells), len(t.Header))
			}
			t.Rows = append(t.Rows, cells)
		}
	}
	if t.Header == nil {
		return t, fmt.Errorf("markdown table %q: empty", title)
	}
	return t, nil
}

// FromRun builds a Page from a run directory: its metadata, params, final
// metrics and every PNG under plots/. Callers add Tables before WriteHTML.
func FromRun(runDir string) (Page, error) {
	r, err := runs.Open(runDir)
	if err != nil {
		return Page{}, err
	}
	m := r.Meta()
	ms, err := runs.ReadMetrics(runDir)
	if err != nil {
		return Page{}, err
	}
	p := Page{Title: m.Name, Params: r.Params(), Metrics: map[string]float64{}}
	if p.Title == "" {
		p.Title = "Run " + m.ID
	}
	p.Meta = [][2]string{{"run", m.ID}, {"experiment", m.Experiment}, {"status", string(m.Status)},
		{"started", m.StartTime.Format(time.RFC3339)}, {"duration", m.Duration().Round(time.Second).String()}}
	if m.ParentID != "" {
		p.Meta = append(p.Meta, [2]string{"parent", m.ParentID})
	}
	if m.Env.Convirt.Revision != "" {
		p.Meta = append(p.Meta, [2]string{"convirt", m.Env.Convirt.Version + " " + m.Env.Convirt.RevisionString()})
	}
	if m.Env.GitCommit != "" {
		c := m.Env.GitCommit
		if m.Env.GitDirty {
			c += " (dirty)"
		}
		p.Meta = append(p.Meta, [2]string{"project git", c})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Env.Extra)) {
		p.Meta = append(p.Meta, [2]string{k, m.Env.Extra[k]})
	}
	for k, v := range runs.Final(ms) {
		p.Metrics[k] = v.Value
	}
	pngs, _ := filepath.Glob(filepath.Join(runDir, runs.PlotsDir, "*.png"))
	sort.Strings(pngs)
	for _, f := range pngs {
		// Relative to the run directory, as Figure documents: runDir itself
		// may be relative (a recipe's "output: runs"), and WriteHTML joins
		// the two.
		p.Figures = append(p.Figures, Figure{Title: strings.TrimSuffix(filepath.Base(f), ".png"), Path: filepath.Join(runs.PlotsDir, filepath.Base(f))})
	}
	return p, nil
}
