package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk"
)

// TablesFile holds the paper-style Markdown tables of a run.
const TablesFile = "tables.md"

// sha256Hex is the hex sha256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// headline are the metrics the tables show; per-label metrics stay in
// results.json.
var headline = map[string]bool{"auc": true, "accuracy": true}

// retrievalMetrics are the retrieval table's columns.
var retrievalMetrics = []string{"p@5", "p@10", "p@50", "chance"}

// retrievalTitle heads the retrieval table and says what each row ranks by
// (retrievalOutput): the rows of different inits compare encoders on the
// same representation, and text-image rows exist for init convirt only.
const retrievalTitle = "Retrieval: precision@k (retrieval-image: image-image on the pooled image features, every init; " +
	"retrieval-text: text-image on the projections, init convirt only, the one whose image and text heads were trained together; " +
	"chance: a random ranking)"

// report draws the loss and label-efficiency plots, writes tables.md and
// report.html, and prints the tables and the report's path.
func (s *session) report(out *Outcome) (tables, page string, err error) {
	if err := s.run.Sync(); err != nil { // the plots read metrics.jsonl
		return "", "", err
	}
	if err := report.LossFromRun(s.run.Dir()); err != nil {
		return "", "", err
	}
	var md []mdTable
	if out.Results != nil {
		if err := s.efficiencyPlots(out.Results.Entries); err != nil {
			return "", "", err
		}
		md = resultTables(out.Results.Entries, s.inits())
	}
	var b strings.Builder
	for _, t := range md {
		fmt.Fprintf(&b, "### %s\n\n%s\n", t.title, t.body)
		if t.note != "" {
			fmt.Fprintf(&b, "%s\n\n", t.note)
		}
	}
	tables = b.String()
	if tables != "" {
		if err := s.run.WriteFileAtomic(TablesFile, []byte(tables)); err != nil {
			return "", "", err
		}
	}
	p, err := report.FromRun(s.run.Dir())
	if err != nil {
		return "", "", err
	}
	for _, t := range md {
		tb, err := report.ParseMarkdownTable(t.title, t.body)
		if err != nil {
			return "", "", err
		}
		tb.Note = t.note
		p.Tables = append(p.Tables, tb)
	}
	if err := report.WriteHTML(s.run.Dir(), p); err != nil {
		return "", "", err
	}
	page = s.runPath("report.html")
	s.uploadArtifacts()
	if tables != "" {
		fmt.Fprintf(s.opt.Out, "\n%s", tables)
	}
	fmt.Fprintf(s.opt.Out, "run %s\nresults: %s\nreport:  %s\n", s.run.ID(), s.runPath(ResultsFile), page)
	return tables, page, nil
}

// uploadArtifacts sends the run's files to the remote trackers (MLflow):
// runs.Uploads, the list `runs push` sends too (report, results, tables,
// resolved recipe, plots, artifacts); the local run already holds them.
// Failures are warnings: the files stay in the run for `runs push`.
func (s *session) uploadArtifacts() {
	ups, err := runs.Uploads(s.run.Dir())
	if err != nil {
		fmt.Fprintf(s.log, "warning: upload: %v\n", err)
	}
	for _, t := range s.tracker[1:] {
		for _, u := range ups {
			if err := t.LogArtifact(u.Name, u.Path); err != nil {
				fmt.Fprintf(s.log, "warning: upload %s: %v\n", u.Name, err)
			}
		}
	}
}

// inits lists the recipe's inits in first-use order.
func (s *session) inits() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range s.r.Evaluate {
		for _, i := range e.Inits {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// mdTable is one titled Markdown table with its footnote.
type mdTable struct{ title, body, note string }

// resultTables lays the entries out as the paper does: one Table 1 per
// trained protocol and one retrieval table.
func resultTables(entries []results.Entry, inits []string) []mdTable {
	var head []results.Entry
	protocols := map[string]bool{}
	for _, e := range entries {
		if headline[e.Metric] {
			head = append(head, e)
			protocols[e.Protocol] = true
		}
	}
	var out []mdTable
	for _, p := range []string{sdk.ProtocolLinear, sdk.ProtocolFinetune, sdk.ProtocolZeroShot} {
		if protocols[p] {
			cols := results.Columns(head, p)
			out = append(out, mdTable{title: "Classification: " + p, body: results.Table1(head, p, inits, cols), note: results.Table1Note(head, p, cols)})
		}
	}
	var rp []string
	for _, p := range []string{"retrieval-image", "retrieval-text"} {
		for _, e := range entries {
			if e.Protocol == p {
				rp = append(rp, p)
				break
			}
		}
	}
	if len(rp) > 0 {
		out = append(out, mdTable{title: retrievalTitle, body: results.RetrievalTable(entries, rp, inits, retrievalMetrics), note: results.RetrievalNote})
	}
	return out
}

// efficiencyPlots draws, for each task of a trained protocol with several
// fractions, the headline metric against the label fraction, one line per
// init with the seed standard deviation as error bars.
func (s *session) efficiencyPlots(entries []results.Entry) error {
	type group struct{ task, protocol, metric string }
	series := map[group]map[string]*report.Series{}
	for _, e := range entries {
		if !headline[e.Metric] || (e.Protocol != sdk.ProtocolLinear && e.Protocol != sdk.ProtocolFinetune) {
			continue
		}
		g := group{e.Task, e.Protocol, e.Metric}
		if series[g] == nil {
			series[g] = map[string]*report.Series{}
		}
		sr := series[g][e.Init]
		if sr == nil {
			sr = &report.Series{Name: e.Init}
			series[g][e.Init] = sr
		}
		sr.X, sr.Y, sr.Err = append(sr.X, e.Fraction), append(sr.Y, e.Mean), append(sr.Err, e.Std)
	}
	for g, byInit := range series {
		var list []report.Series
		for _, init := range s.inits() {
			if sr, ok := byInit[init]; ok && len(sr.X) > 1 {
				sortByX(sr)
				list = append(list, *sr)
			}
		}
		if len(list) == 0 {
			continue
		}
		name := fmt.Sprintf("label-efficiency-%s-%s-%s.png", g.task, g.protocol, g.metric)
		if err := report.LabelEfficiency(s.runPath(runs.PlotsDir, name), list, g.metric); err != nil {
			return err
		}
	}
	return nil
}

// sortByX orders a series' points by X.
func sortByX(sr *report.Series) {
	idx := make([]int, len(sr.X))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return sr.X[idx[a]] < sr.X[idx[b]] })
	x, y, e := make([]float64, len(idx)), make([]float64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		x[i], y[i], e[i] = sr.X[j], sr.Y[j], sr.Err[j]
	}
	sr.X, sr.Y, sr.Err = x, y, e
}
