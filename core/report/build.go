package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// Options are what Build knows beyond the run directory.
type Options struct {
	// Ending is the status the run ends with, for a report written as the
	// run's last stage while the run is still open (core/experiment writes
	// it before closing the run, so that a failed report fails the run and
	// the page is uploaded before tracking stops); "" shows meta.json's.
	Ending runs.Status
	// End is the run's end time for the duration when Ending is set; the
	// zero time means now.
	End time.Time
	// Inits orders the initialisations (the recipe's order); others follow
	// in order of first appearance.
	Inits []string
	// Paper puts the paper's figures (Paper) beside the results: for the
	// recipes that reproduce it (recipes/paper).
	Paper bool
	// Tables are the paper-style results tables; nil reads the run's
	// tables.md (ReadTables), as `convirt runs report` does.
	Tables []Table
}

// Build draws a run's report plots and lays out its page from the run
// directory alone (meta, params, metrics, results.json, predictions,
// retrieval examples, plots): the headline label-efficiency plots and
// tables first, then per-label tables, the results tables, ROC curves over
// every seed, retrieval examples, the training curves, other plots
// collapsed, and the raw metrics collapsed at the end.
func Build(runDir string, o Options) (Page, error) {
	if err := LossFromRun(runDir); err != nil {
		return Page{}, err
	}
	p, err := FromRun(runDir)
	if err != nil {
		return Page{}, err
	}
	if o.Ending != "" {
		end := o.End
		if end.IsZero() {
			end = time.Now()
		}
		p.ending(o.Ending, end)
	}
	var paper *PaperNumbers
	if o.Paper {
		if paper, err = Paper(); err != nil {
			return Page{}, err
		}
	}
	var entries []results.Entry
	f, err := results.Read(filepath.Join(runDir, runs.ResultsFile))
	switch {
	case err == nil:
		entries = f.Entries
	case !errors.Is(err, fs.ErrNotExist):
		return Page{}, err
	}
	used := map[string]bool{}
	add := func(s Section) {
		for _, f := range s.Figures {
			used[filepath.Clean(f.Path)] = true
		}
		if len(s.Tables)+len(s.Figures)+len(s.Retrieval) > 0 {
			p.Sections = append(p.Sections, s)
		}
	}
	head, err := headline(runDir, entries, o.Inits, paper)
	if err != nil {
		return Page{}, err
	}
	add(head)
	add(perLabel(entries, o.Inits))
	if o.Tables == nil {
		if o.Tables, err = ReadTables(runDir); err != nil {
			return Page{}, err
		}
	}
	add(Section{Title: "Results tables", Tables: o.Tables})
	rocs, err := ROCFromRun(runDir)
	if err != nil {
		return Page{}, err
	}
	add(Section{Title: "ROC curves", Figures: rocs, Intro: "For each evaluation, protocol and init at its largest label fraction: " +
		"every seed's probe drawn as its own thin line in its label's colour; the legend gives the AUC's mean ± one standard deviation over the seeds. " +
		"Dashed grey: chance."})
	rs, err := retrievalSection(runDir, entries, paper)
	if err != nil {
		return Page{}, err
	}
	add(rs)
	train := Section{Title: "Pretraining curves"}
	for _, f := range []Figure{
		{Title: "Pretraining loss", Path: filepath.Join(runs.PlotsDir, LossPlot), Caption: "Contrastive loss per logged step (training batches) and on the held-out pairs (validation)."},
		{Title: "Learning rate", Path: filepath.Join(runs.PlotsDir, LRPlot), Caption: "The optimiser's learning rate per logged step, as core/train logs it (" + LRKey + ")."},
	} {
		if hasFile(runDir, f.Path) {
			train.Figures = append(train.Figures, f)
		}
	}
	add(train)
	other := Section{Title: "Other plots", Collapsed: true}
	for _, f := range p.Figures {
		// plots/roc-<cell>.png (the evaluator's curves, one seed) are
		// superseded by the every-seed plots above.
		firstSeedROC := strings.HasPrefix(filepath.Base(f.Path), "roc-") && len(rocs) > 0
		if !used[filepath.Clean(f.Path)] && !firstSeedROC {
			other.Figures = append(other.Figures, f)
		}
	}
	add(other)
	p.Figures = nil
	return p, nil
}

// ending shows the run as ended with status at end.
func (p *Page) ending(status runs.Status, end time.Time) {
	for i, m := range p.Meta {
		switch m[0] {
		case "status":
			p.Meta[i][1] = string(status)
		case "started":
			if start, err := time.Parse(time.RFC3339, m[1]); err == nil {
				for j := range p.Meta {
					if p.Meta[j][0] == "duration" {
						p.Meta[j][1] = end.Sub(start).Round(time.Second).String()
					}
				}
			}
		}
	}
}

// retrievalSection shows the retrieval examples and, for a paper recipe,
// the precision@k beside the paper's.
func retrievalSection(runDir string, entries []results.Entry, paper *PaperNumbers) (Section, error) {
	sec := Section{Title: "Retrieval", Intro: "Example queries with their top-ranked candidates (most similar first). " +
		"A green frame and ✓ mark a candidate labelled 1 for the query's category, the ones precision@k counts (✗: not labelled); cos is the cosine similarity to the query. Hover over a thumbnail for its sample ID."}
	ex, err := readRetrievalExamples(runDir)
	if err != nil {
		return sec, err
	}
	sec.Retrieval = ex
	if paper == nil {
		return sec, nil
	}
	tb := Table{Title: "Precision@k in percent, the paper's figure in brackets", Header: []string{"task", "protocol", "init", "metric", "this run", "paper"}}
	for _, e := range entries {
		if !strings.HasPrefix(e.Protocol, "retrieval-") || !strings.HasPrefix(e.Metric, "p@") || strings.Contains(e.Metric, ":") {
			continue
		}
		ref := "–"
		if c, ok := paper.Lookup(e.Task, e.Protocol, e.Init, e.Metric, e.Fraction); ok {
			ref = paperText(c)
		}
		tb.Rows = append(tb.Rows, []string{e.Task, e.Protocol, e.Init, e.Metric, fmt.Sprintf("%.1f", 100*e.Mean), ref})
	}
	if len(tb.Rows) > 0 {
		sec.Tables = append(sec.Tables, tb)
	}
	return sec, nil
}

// hasFile reports whether rel (relative to runDir) is a file.
func hasFile(runDir, rel string) bool {
	st, err := os.Stat(filepath.Join(runDir, rel))
	return err == nil && st.Mode().IsRegular()
}
