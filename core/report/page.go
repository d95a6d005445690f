package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

type kv struct{ K, V string }

type figureData struct {
	Title, Caption string
	Src            template.URL
}

type hitData struct {
	Src         template.URL
	Caption, ID string
	Relevant    bool
}

type exampleData struct {
	Title, Text string
	Src         template.URL
	Hits        []hitData
}

type sectionData struct {
	ID, Title, Intro string
	Tables           []Table
	Figures          []figureData
	Examples         []exampleData
	Collapsed        bool
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}.note,figcaption{color:#555;font-size:.9em}
figure{margin:1em 0}nav a{margin-right:1em}.meta th{width:9em}summary{cursor:pointer;font-weight:600;margin:1.5em 0 .5em}
.hits{display:flex;flex-wrap:wrap;gap:.4em;margin:.3em 0 1em}.hit{width:112px;font-size:.8em;text-align:center}
.hit img{width:104px;height:104px;object-fit:contain;background:#000;border:3px solid #bbb}.hit.rel img{border-color:#2a7}
.query{display:flex;gap:1em;align-items:flex-start}.query img{width:104px;height:104px;object-fit:contain;background:#000}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Meta}}<table class="meta">{{range .Meta}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>{{end}}</table>{{end}}
{{if .Sections}}<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}</nav>{{end}}
{{range .Sections}}<section id="{{.ID}}">{{if .Collapsed}}<details><summary>{{.Title}}</summary>{{else}}<h2>{{.Title}}</h2>{{end}}
{{if .Intro}}<p class="note">{{.Intro}}</p>{{end}}
{{range .Figures}}<figure><h3>{{.Title}}</h3><img alt="{{.Title}}" src="{{.Src}}">{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}</figure>
{{end}}{{range .Tables}}{{template "table" .}}{{end}}
{{range .Examples}}<div class="example"><h3>{{.Title}}</h3><div class="query">{{if .Src}}<img alt="query image" src="{{.Src}}">{{end}}{{if .Text}}<blockquote>{{.Text}}</blockquote>{{end}}</div>
<div class="hits">{{range .Hits}}<div class="hit{{if .Relevant}} rel{{end}}" title="{{.ID}}"><img alt="{{.Caption}} {{.ID}}" src="{{.Src}}"><br>{{.Caption}}</div>{{end}}</div></div>
{{end}}{{if .Collapsed}}</details>{{end}}</section>
{{end}}{{range .Tables}}{{template "table" .}}{{end}}
{{range .Figures}}<figure><h3>{{.Title}}</h3><img alt="{{.Title}}" src="{{.Src}}">{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}</figure>
{{end}}{{if .Params}}<details><summary>Parameters ({{len .Params}})</summary><table><tr><th>param</th><th>value</th></tr>
{{range .Params}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table></details>{{end}}
{{if .Metrics}}<details id="raw-metrics"><summary>Raw final metrics ({{len .Metrics}})</summary><table><tr><th>metric</th><th>value</th></tr>
{{range .Metrics}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table></details>{{end}}
<p class="note">Generated {{.Generated}} by convirt.</p>
</body></html>
{{define "table"}}<h3>{{.Title}}</h3><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{end}}`))

// WriteHTML writes runDir/report.html atomically from p, embedding every
// figure and thumbnail as a base64 PNG data URI. All text is HTML-escaped.
func WriteHTML(runDir string, p Page) error {
	data := struct {
		Title           string
		Meta            []kv
		Sections        []sectionData
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
	for _, k := range slices.Sorted(maps.Keys(p.Metrics)) {
		data.Metrics = append(data.Metrics, kv{k, formatMetric(p.Metrics[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(p.Params)) {
		data.Params = append(data.Params, kv{k, p.Params[k]})
	}
	figs := func(fs []Figure) ([]figureData, error) {
		var out []figureData
		for _, f := range fs {
			src, err := dataURI(runDir, f.Path)
			if err != nil {
				return nil, fmt.Errorf("report %s: figure %q: %w", runDir, f.Title, err)
			}
			out = append(out, figureData{f.Title, f.Caption, src})
		}
		return out, nil
	}
	var err error
	if data.Figures, err = figs(p.Figures); err != nil {
		return err
	}
	for i, s := range p.Sections {
		sd := sectionData{ID: fmt.Sprintf("s%d", i+1), Title: s.Title, Intro: s.Intro, Tables: s.Tables, Collapsed: s.Collapsed}
		if sd.Figures, err = figs(s.Figures); err != nil {
			return err
		}
		if sd.Examples, err = examples(runDir, s.Retrieval); err != nil {
			return err
		}
		data.Sections = append(data.Sections, sd)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return fmt.Errorf("report %s: %w", runDir, err)
	}
	return atomicfile.Write(filepath.Join(runDir, "report.html"), buf.Bytes(), 0o644)
}

// dataURI reads a PNG (path relative to runDir, or absolute) as a data URI.
func dataURI(runDir, path string) (template.URL, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(runDir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)), nil
}

// formatMetric prints a whole number (a count: examples, queries, steps)
// as an integer, others with four decimals or in exponent form.
func formatMetric(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if math.Abs(v) >= 1e5 || (v != 0 && math.Abs(v) < 1e-3) {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}
