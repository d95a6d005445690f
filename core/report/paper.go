package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// paperJSON is the one machine-readable copy of the paper's headline
// numbers; docs/paper.md prints the same figures (TestPaperDocAgrees).
//
//go:embed paper.json
var paperJSON []byte

// PaperCell is one figure the paper reports, keyed like a results.json
// entry (task = the dataset plugin, protocol, init, fraction, metric).
type PaperCell struct {
	Task     string  `json:"task"`
	Protocol string  `json:"protocol"`
	Init     string  `json:"init"`
	Fraction float64 `json:"fraction"`
	Metric   string  `json:"metric"`
	// Percent is the figure as the paper prints it, in percent.
	Percent float64 `json:"percent"`
	// Checked is false for a cell not checked against the PDF (from
	// independent re-implementations; docs/paper.md marks it with ~).
	Checked bool `json:"checked"`
}

// Value is the cell on results.json's scale (a fraction, not percent).
func (c PaperCell) Value() float64 { return c.Percent / 100 }

// PaperNumbers are the paper's reported figures.
type PaperNumbers struct {
	Source string      `json:"source"`
	Cells  []PaperCell `json:"cells"`
}

// Lookup finds the paper's figure for a cell; ok is false when the paper
// reports none.
func (p *PaperNumbers) Lookup(task, protocol, init, metric string, fraction float64) (PaperCell, bool) {
	for _, c := range p.Cells {
		if c.Task == task && c.Protocol == protocol && c.Init == init && c.Metric == metric && c.Fraction == fraction {
			return c, true
		}
	}
	return PaperCell{}, false
}

// Paper returns the paper's numbers (paper.json, embedded).
var Paper = sync.OnceValues(func() (*PaperNumbers, error) {
	var p PaperNumbers
	if err := json.Unmarshal(paperJSON, &p); err != nil {
		return nil, fmt.Errorf("core/report/paper.json: %w", err)
	}
	seen := map[string]bool{}
	for i, c := range p.Cells {
		k := fmt.Sprintf("%s/%s/%s/%s/%g", c.Task, c.Protocol, c.Init, c.Metric, c.Fraction)
		if seen[k] || c.Task == "" || c.Metric == "" || !(c.Fraction > 0 && c.Fraction <= 1) || !(c.Percent >= 0 && c.Percent <= 100) {
			return nil, fmt.Errorf("core/report/paper.json: cell %d (%s): duplicate or out of range", i, k)
		}
		seen[k] = true
	}
	return &p, nil
})
