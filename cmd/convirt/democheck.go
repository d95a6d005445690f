package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/evaluators/linear"
)

func init() {
	register(&command{
		Name:  "demo check",
		Usage: "[--dir runs] [RUN_ID]",
		Short: "check the demo's claims on its results.json and predictions (the newest demo run by default)",
		Run:   demoCheck,
	})
}

// The demo's claims (issue: the demo), checked on results.json: contrastive
// pretraining beats random initialisation by a clear margin with 1% of the
// labels, and text queries retrieve relevant images well above chance.
const (
	demoMinGap   = 0.10 // ConVIRT mean AUC - random mean AUC, linear probe at 1%
	demoMinRatio = 2.0  // text-to-image P@10 / chance
)

// demoRetrievalMetrics are the retrieval table's columns, as `convirt run`
// prints them.
var demoRetrievalMetrics = []string{"p@5", "p@10", "p@50", "chance"}

// claim is one checked statement.
type claim struct {
	text string
	ok   bool
}

// pm formats an entry as the tables do: mean ± standard deviation over the
// seeds, in percent.
func pm(e results.Entry) string { return fmt.Sprintf("%.1f ± %.1f", 100*e.Mean, 100*e.Std) }

// demoClaims evaluates the demo's claims on its results.
func demoClaims(f *results.File) ([]claim, error) {
	find := func(protocol, init, metric string, fraction float64) (results.Entry, error) {
		for _, e := range f.Entries {
			if e.Protocol == protocol && e.Init == init && e.Metric == metric && e.Fraction == fraction {
				return e, nil
			}
		}
		return results.Entry{}, fmt.Errorf("results.json has no %s/%s/%s at fraction %v", protocol, init, metric, fraction)
	}
	var out []claim
	c, err := find("linear", "convirt", "auc", 0.01)
	if err != nil {
		return nil, err
	}
	r, err := find("linear", "random", "auc", 0.01)
	if err != nil {
		return nil, err
	}
	gap := c.Mean - r.Mean
	out = append(out, claim{fmt.Sprintf("linear probe, 1%% of labels: ConVIRT AUC %s - random AUC %s = %+.1f points (need >= %.1f)",
		pm(c), pm(r), 100*gap, 100*demoMinGap), gap >= demoMinGap-1e-9})
	p, err := find("retrieval-text", "convirt", "p@10", 1)
	if err != nil {
		return nil, err
	}
	ch, err := find("retrieval-text", "convirt", "chance", 1)
	if err != nil {
		return nil, err
	}
	ratio := p.Mean / ch.Mean
	out = append(out, claim{fmt.Sprintf("text-to-image retrieval: P@10 %.1f = %.2fx chance %.1f (need >= %.1fx)", 100*p.Mean, ratio, 100*ch.Mean, demoMinRatio), ratio >= demoMinRatio-1e-9})
	return out, nil
}

// demoFigures renders results as `convirt run` prints them (and
// docs/demo.md shows them): the linear probes' Table 1 with its footnote,
// the labels each mean AUC is over, and the retrieval table.
func demoFigures(f *results.File) string {
	var inits []string
	for _, e := range f.Entries {
		if !slices.Contains(inits, e.Init) {
			inits = append(inits, e.Init)
		}
	}
	var head []results.Entry
	for _, e := range f.Entries {
		if e.Metric == "auc" || e.Metric == "accuracy" {
			head = append(head, e)
		}
	}
	var b strings.Builder
	if cols := results.Columns(head, "linear"); len(cols) > 0 {
		fmt.Fprintf(&b, "### Classification: linear\n\n%s\n%s\n\n", results.Table1(head, "linear", inits, cols), results.Table1Note(head, "linear", cols))
	}
	for _, e := range head {
		if e.Protocol == "linear" && e.Metric == "auc" {
			over := "the labels are not recorded"
			if len(e.Labels) > 0 {
				over = fmt.Sprintf("over %d labels: %s", len(e.Labels), strings.Join(e.Labels, ", "))
			}
			fmt.Fprintf(&b, "mean AUC of %s/%s at %.4g%%: %s\n", e.Task, e.Init, 100*e.Fraction, over)
		}
	}
	var rp []string
	for _, p := range []string{"retrieval-image", "retrieval-text"} {
		if slices.ContainsFunc(f.Entries, func(e results.Entry) bool { return e.Protocol == p }) {
			rp = append(rp, p)
		}
	}
	if len(rp) > 0 {
		fmt.Fprintf(&b, "\n### Retrieval: precision@k\n\n%s\n%s\n", results.RetrievalTable(f.Entries, rp, inits, demoRetrievalMetrics), results.RetrievalNote)
	}
	return b.String()
}

// probeScan is what checkProbes found in a run's predictions CSVs.
type probeScan struct {
	files      int
	degenerate []string // one line per degenerate probe: file and label
	ranked     []string // labels with both classes in some test split
	oneClass   []string // labels with one class (or none) in every test split
}

// checkProbes reads every predictions CSV under the run's predictions
// directory and reports the probes whose test scores are constant where
// they must rank (linear.CheckScores): a label with both classes among its
// known test labels whose scores are all equal, or a multi-class probe
// giving every example the same probabilities.
func checkProbes(runDir string) (probeScan, error) {
	var s probeScan
	root := filepath.Join(runDir, runs.PredictionsDir)
	twoClass := map[string]bool{}
	var seen []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".csv" {
			return err
		}
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		p, err := results.ReadPredictions(fh)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(runDir, path)
		s.files++
		switch p := p.(type) {
		case *results.LabelPredictions:
			k := len(p.Labels)
			y := make([]float32, 0, len(p.Truth)*k)
			for _, row := range p.Truth {
				for _, v := range row {
					y = append(y, float32(v))
				}
			}
			for c, l := range p.Labels {
				if !slices.Contains(seen, l) {
					seen = append(seen, l)
				}
				var pos, neg bool
				for _, row := range p.Truth {
					pos, neg = pos || row[c] == 1, neg || row[c] == 0
				}
				twoClass[l] = twoClass[l] || (pos && neg)
			}
			test := linear.Split{Y: linear.Matrix{Rows: len(p.Truth), Cols: k, Data: y}, Names: p.Labels}
			if err := linear.CheckScores(linear.MultiLabel, p.Scores, test); err != nil {
				s.degenerate = append(s.degenerate, fmt.Sprintf("%s: %v", rel, err))
			}
		case *results.ClassPredictions:
			if err := linear.CheckScores(linear.MultiClass, p.Scores, linear.Split{}); err != nil {
				s.degenerate = append(s.degenerate, fmt.Sprintf("%s: %v", rel, err))
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && s.files == 0 {
		return s, fmt.Errorf("no predictions under %s", root)
	}
	if err != nil {
		return s, err
	}
	if s.files == 0 {
		return s, fmt.Errorf("no predictions CSVs under %s", root)
	}
	for _, l := range seen {
		if twoClass[l] {
			s.ranked = append(s.ranked, l)
		} else {
			s.oneClass = append(s.oneClass, l)
		}
	}
	return s, nil
}

// probeClaim states the result of checkProbes.
func probeClaim(s probeScan) claim {
	if len(s.degenerate) > 0 {
		return claim{fmt.Sprintf("no degenerate probe: %d of %d prediction files have constant scores:\n      %s",
			len(s.degenerate), s.files, strings.Join(s.degenerate, "\n      ")), false}
	}
	text := fmt.Sprintf("no degenerate probe: in all %d prediction files every label with both classes in the test split (%s) gets varying scores",
		s.files, strings.Join(s.ranked, ", "))
	if len(s.oneClass) > 0 {
		text += fmt.Sprintf("; skipped, one class in the test split so no AUC: %s", strings.Join(s.oneClass, ", "))
	}
	return claim{text, true}
}

func demoCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo check", stderr)
	dir := fs.String("dir", "runs", "root of the local run store")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var m runs.Meta
	switch len(pos) {
	case 0:
		ms, err := runs.List(*dir, runs.Filter{Experiment: "demo", Status: runs.Finished})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return fmt.Errorf("no finished demo run under %s: run `make demo` first", *dir)
		}
		m = ms[0]
		for _, x := range ms[1:] {
			if x.StartTime.After(m.StartTime) {
				m = x
			}
		}
	case 1:
		if m, err = runs.Find(*dir, pos[0]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: at most one RUN_ID", errUsage)
	}
	f, err := results.Read(filepath.Join(m.Dir, "results.json"))
	if err != nil {
		return err
	}
	cs, err := demoClaims(f)
	if err != nil {
		return fmt.Errorf("run %s: %w", m.ID, err)
	}
	scan, err := checkProbes(m.Dir)
	if err != nil {
		return fmt.Errorf("run %s: %w", m.ID, err)
	}
	cs = append([]claim{probeClaim(scan)}, cs...)
	fmt.Fprintf(stdout, "run %s\n\n%s\n", m.ID, demoFigures(f))
	failed := 0
	for _, c := range cs {
		mark := "PASS"
		if !c.ok {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(stdout, "%s  %s\n", mark, c.text)
	}
	if failed > 0 {
		return fmt.Errorf("run %s: %d of %d demo claims failed", m.ID, failed, len(cs))
	}
	fmt.Fprintf(stdout, "run %s shows the paper's claims on synthetic data\n", m.ID)
	return nil
}
