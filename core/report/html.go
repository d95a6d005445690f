package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// Page is the content of report.html.
type Page struct {
	Title   string
	Meta    [][2]string // label, value rows shown first (id, status, ...)
	Params  map[string]string
	Metrics map[string]float64 // final metrics
	Tables  []Table
	Figures []Figure
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
	Title string
	Path  string
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

type kv struct{ K, V string }

type figureData struct {
	Title string
	Src   template.URL
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}.note{color:#666;font-size:.9em}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Meta}}<table>{{range .Meta}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>{{end}}</table>{{end}}
{{range .Tables}}<h2>{{.Title}}</h2><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{end}}{{if .Metrics}}<h2>Final metrics</h2><table><tr><th>metric</th><th>value</th></tr>
{{range .Metrics}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table>{{end}}
{{range .Figures}}<h2>{{.Title}}</h2><img alt="{{.Title}}" src="{{.Src}}">
{{end}}{{if .Params}}<h2>Parameters</h2><table><tr><th>param</th><th>value</th></tr>
{{range .Params}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table>{{end}}
<p class="note">Generated {{.Generated}} by convirt.</p>
</body></html>
`))

// WriteHTML writes runDir/report.html atomically from p, embedding every
// figure as a base64 PNG data URI. All text is HTML-escaped.
func WriteHTML(runDir string, p Page) error {
	data := struct {
		Title           string
		Meta            []kv
		Tables          []Table
		Metrics, Params []kv
		Figures         []figureData
		Generated       string
	}{Title: p.Title, Tables: p.Tables, Generated: time.Now().UTC().Format(time.RFC3339)}
	if data.Title == "" {
		data.Title = "convirt run report"
	}
	for _, m := range p.Meta {
		data.Meta = append(data.Meta, kv{m[0], m[1]})
	}
	for _, k := range sortedKeys(p.Metrics) {
		data.Metrics = append(data.Metrics, kv{k, formatMetric(p.Metrics[k])})
	}
	for _, k := range sortedKeys(p.Params) {
		data.Params = append(data.Params, kv{k, p.Params[k]})
	}
	for _, f := range p.Figures {
		path := f.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(runDir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("report %s: figure %q: %w", runDir, f.Title, err)
		}
		data.Figures = append(data.Figures, figureData{f.Title, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return fmt.Errorf("report %s: %w", runDir, err)
	}
	return atomicfile.Write(filepath.Join(runDir, "report.html"), buf.Bytes(), 0o644)
}

func formatMetric(v float64) string {
	if math.Abs(v) >= 1e5 || (v != 0 && math.Abs(v) < 1e-3) {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
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
	for _, k := range sortedKeys(m.Env.Extra) {
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
