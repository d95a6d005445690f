package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/recipe"
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

// report writes tables.md and report.html (core/report.Build: the
// headline label-efficiency plots, per-label tables, ROC curves over every
// seed, retrieval examples, training curves), and prints the tables and
// the report's path. It is the run's last stage, written before the run is
// closed (a failed report fails the run, and the page is uploaded before
// tracking stops), so the page shows the status the run ends with when it
// succeeds: finished.
func (s *session) report(out *Outcome) (tables, page string, err error) {
	if err := s.run.Sync(); err != nil { // the plots read metrics.jsonl
		return "", "", err
	}
	var md []mdTable
	if out.Results != nil {
		md = resultTables(out.Results.Entries, ReportOptions(s.r).Inits)
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
	opt := ReportOptions(s.r)
	opt.Ending = runs.Finished
	for _, t := range md {
		tb, err := report.ParseMarkdownTable(t.title, t.body)
		if err != nil {
			return "", "", err
		}
		tb.Note = t.note
		opt.Tables = append(opt.Tables, tb)
	}
	p, err := report.Build(s.run.Dir(), opt)
	if err != nil {
		return "", "", err
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

// ReportOptions are the settings of r's report.html that come from the
// recipe: its inits in first-use order, and the paper's figures when it
// asks for them (report.paper). A run's report is built with them, and
// `convirt runs report` rebuilds it with the same from the saved recipe.
func ReportOptions(r *recipe.Recipe) report.Options {
	var inits []string
	for _, e := range r.Evaluate {
		for _, i := range e.Inits {
			if !slices.Contains(inits, i) {
				inits = append(inits, i)
			}
		}
	}
	return report.Options{Inits: inits, Paper: r.Report.Paper}
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
