package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/evaluators/results"
)

func init() {
	register(&command{
		Name:  "demo check",
		Usage: "[--dir runs] [RUN_ID]",
		Short: "check the demo's claims on its results.json (the newest demo run by default)",
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

// claim is one checked statement.
type claim struct {
	text string
	ok   bool
}

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
	out = append(out, claim{fmt.Sprintf("linear probe, 1%% of labels: ConVIRT AUC %.3f - random AUC %.3f = %+.3f (need >= %.2f)", c.Mean, r.Mean, gap, demoMinGap), gap >= demoMinGap-1e-9})
	p, err := find("retrieval-text", "convirt", "p@10", 1)
	if err != nil {
		return nil, err
	}
	ch, err := find("retrieval-text", "convirt", "chance", 1)
	if err != nil {
		return nil, err
	}
	ratio := p.Mean / ch.Mean
	out = append(out, claim{fmt.Sprintf("text-to-image retrieval: P@10 %.3f = %.2fx chance %.3f (need >= %.1fx)", p.Mean, ratio, ch.Mean, demoMinRatio), ratio >= demoMinRatio-1e-9})
	return out, nil
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
