package democheck

import (
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
)

func entry(protocol, init, metric string, fraction, mean float64) results.Entry {
	return results.Entry{Task: "chexpert", Protocol: protocol, Init: init, Metric: metric, Fraction: fraction, Mean: mean, Seeds: []uint64{0}, Values: []float64{mean}}
}

func TestDemoClaims(t *testing.T) {
	base := func(conv, rand, p10, chance float64) *results.File {
		return &results.File{Entries: []results.Entry{
			entry("linear", "convirt", "auc", 0.01, conv), entry("linear", "random", "auc", 0.01, rand),
			entry("linear", "convirt", "auc", 1, 0.99),
			entry("retrieval-text", "convirt", "p@10", 1, p10), entry("retrieval-text", "convirt", "chance", 1, chance),
		}}
	}
	for _, c := range []struct {
		name       string
		f          *results.File
		pass1, pas bool
	}{
		{"both hold", base(0.95, 0.74, 0.43, 0.167), true, true},
		{"gap too small", base(0.80, 0.75, 0.43, 0.167), false, true},
		{"retrieval at chance", base(0.95, 0.74, 0.20, 0.167), true, false},
		{"exact thresholds", base(0.85, 0.75, 0.5, 0.25), true, true},
	} {
		cs, err := Claims(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(cs) != 2 || cs[0].OK != c.pass1 || cs[1].OK != c.pas {
			t.Errorf("%s: claims %+v", c.name, cs)
		}
	}
	f := base(0.9, 0.7, 0.4, 0.2)
	f.Entries = f.Entries[1:]
	if _, err := Claims(f); err == nil || !strings.Contains(err.Error(), "linear/convirt/auc") {
		t.Errorf("missing entry: %v", err)
	}
	// The figures read as the tables do: mean ± std over seeds, in percent.
	cs, _ := Claims(base(0.943, 0.738, 0.4, 0.167))
	if !strings.Contains(cs[0].Text, "ConVIRT AUC 94.3 ± 0.0 - random AUC 73.8 ± 0.0 = +20.5 points") {
		t.Errorf("claim text %q", cs[0].Text)
	}
}
