// Package democheck checks the demo's claims on a finished run (`convirt
// demo check`): the figures of its results.json as `convirt run` prints them,
// the two claims the demo makes (pretraining beats random initialisation with
// 1% of the labels; text queries retrieve relevant images well above chance)
// and that no linear probe's test scores are degenerate. The rule for
// degenerate scores is the linear evaluator's; the CLI hands it in as a
// ProbeRule, since the host may not import an evaluator.
package democheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk"
)

// The demo's claims, checked on results.json: contrastive
// pretraining beats random initialisation by a clear margin with 1% of the
// labels, and text queries retrieve relevant images well above chance.
const (
	MinGap   = 0.10 // ConVIRT mean AUC - random mean AUC, linear probe at 1%
	MinRatio = 2.0  // text-to-image P@10 / chance
)

// The results.json protocols the demo's claims and figures read: the linear
// probes, and retrieval with image or text queries (the host records
// retrieval as sdk.ProtocolRetrieval + "-" + the query modality).
const (
	protocolLinear         = sdk.ProtocolLinear
	protocolRetrievalImage = sdk.ProtocolRetrieval + "-image"
	protocolRetrievalText  = sdk.ProtocolRetrieval + "-text"
)

// RetrievalMetrics are the retrieval table's columns, as `convirt run`
// prints them.
var RetrievalMetrics = []string{"p@5", "p@10", "p@50", "chance"}

// Claim is one checked statement: its text as printed, and whether it holds.
type Claim struct {
	Text string
	OK   bool
}

// pm formats an entry as the tables do: mean ± standard deviation over the
// seeds, in percent.
func pm(e results.Entry) string { return fmt.Sprintf("%.1f ± %.1f", 100*e.Mean, 100*e.Std) }

// Claims evaluates the demo's claims on its results.
func Claims(f *results.File) ([]Claim, error) {
	find := func(protocol, init, metric string, fraction float64) (results.Entry, error) {
		for _, e := range f.Entries {
			if e.Protocol == protocol && e.Init == init && e.Metric == metric && e.Fraction == fraction {
				return e, nil
			}
		}
		return results.Entry{}, fmt.Errorf("results.json has no %s/%s/%s at fraction %v", protocol, init, metric, fraction)
	}
	// The entries the claims compare, in this order.
	need := []struct {
		protocol, init, metric string
		fraction               float64
	}{
		{protocolLinear, "convirt", "auc", 0.01},
		{protocolLinear, "random", "auc", 0.01},
		{protocolRetrievalText, "convirt", "p@10", 1},
		{protocolRetrievalText, "convirt", "chance", 1},
	}
	got := make([]results.Entry, len(need))
	for i, n := range need {
		e, err := find(n.protocol, n.init, n.metric, n.fraction)
		if err != nil {
			return nil, err
		}
		got[i] = e
	}
	c, r, p, ch := got[0], got[1], got[2], got[3]
	var out []Claim
	gap := c.Mean - r.Mean
	out = append(out, Claim{fmt.Sprintf("linear probe, 1%% of labels: ConVIRT AUC %s - random AUC %s = %+.1f points (need >= %.1f)",
		pm(c), pm(r), 100*gap, 100*MinGap), gap >= MinGap-1e-9})
	ratio := p.Mean / ch.Mean
	out = append(out, Claim{fmt.Sprintf("text-to-image retrieval: P@10 %.1f = %.2fx chance %.1f (need >= %.1fx)", 100*p.Mean, ratio, 100*ch.Mean, MinRatio), ratio >= MinRatio-1e-9})
	return out, nil
}

// Figures renders results as `convirt run` prints them (and
// docs/demo.md shows them): the linear probes' Table 1 with its footnote,
// the labels each mean AUC is over, and the retrieval table.
func Figures(f *results.File) string {
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
	if cols := results.Columns(head, protocolLinear); len(cols) > 0 {
		fmt.Fprintf(&b, "### Classification: linear\n\n%s\n%s\n\n", results.Table1(head, protocolLinear, inits, cols), results.Table1Note(head, protocolLinear, cols))
	}
	for _, e := range head {
		if e.Protocol == protocolLinear && e.Metric == "auc" {
			over := "the labels are not recorded"
			if len(e.Labels) > 0 {
				over = fmt.Sprintf("over %d labels: %s", len(e.Labels), strings.Join(e.Labels, ", "))
			}
			fmt.Fprintf(&b, "mean AUC of %s/%s at %.4g%%: %s\n", e.Task, e.Init, 100*e.Fraction, over)
		}
	}
	var rp []string
	for _, p := range []string{protocolRetrievalImage, protocolRetrievalText} {
		if slices.ContainsFunc(f.Entries, func(e results.Entry) bool { return e.Protocol == p }) {
			rp = append(rp, p)
		}
	}
	if len(rp) > 0 {
		fmt.Fprintf(&b, "\n### Retrieval: precision@k\n\n%s\n%s\n", results.RetrievalTable(f.Entries, rp, inits, RetrievalMetrics), results.RetrievalNote)
	}
	return b.String()
}
