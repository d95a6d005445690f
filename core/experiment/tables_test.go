package experiment

import (
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// TestResultTablesSayWhatCellsAre: each table carries a footnote saying
// that cells are mean ± std over seeds, where the intervals are, and that
// at 100% of the labels the seeds differ only by the probe's randomness.
func TestResultTablesSayWhatCellsAre(t *testing.T) {
	var es []results.Entry
	for _, c := range []struct {
		fraction float64
		values   []float64
	}{{0.01, []float64{0.8, 0.9}}, {1, []float64{0.95, 0.95}}} {
		e, err := results.Aggregate(results.Entry{Task: "chexpert", Protocol: "linear", Init: "random", Fraction: c.fraction, Metric: "auc"},
			[]uint64{0, 1}, c.values, stats.Interval{Lo: 0.7, Hi: 1})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	es = append(es, results.Entry{Task: "t", Protocol: "retrieval-image", Init: "random", Fraction: 1, Metric: "p@5", Mean: 0.5, Seeds: []uint64{0}, Values: []float64{0.5}})
	md := resultTables(es, []string{"random"})
	if len(md) != 2 {
		t.Fatalf("tables %+v", md)
	}
	for _, want := range []string{"mean ± sample standard deviation over the seeds (n = 2)", "seed_t95", "test_bootstrap95",
		"differ only by the probe's own randomness", "identical values"} {
		if !strings.Contains(md[0].note, want) {
			t.Errorf("linear table note %q lacks %q", md[0].note, want)
		}
	}
	if md[1].note != results.RetrievalNote {
		t.Errorf("retrieval table note %q", md[1].note)
	}
}
