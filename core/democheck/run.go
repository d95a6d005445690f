package democheck

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// FindRun returns the run to check from the run store under dir: the run
// runID, or, when runID is empty, the newest finished run of the demo
// experiment.
func FindRun(dir, runID string) (runs.Meta, error) {
	if runID != "" {
		return runs.Find(dir, runID)
	}
	ms, err := runs.List(dir, runs.Filter{Experiment: "demo", Status: runs.Finished})
	if err != nil {
		return runs.Meta{}, err
	}
	if len(ms) == 0 {
		return runs.Meta{}, fmt.Errorf("no finished demo run under %s: run `make demo` first", dir)
	}
	m := ms[0]
	for _, x := range ms[1:] {
		if x.StartTime.After(m.StartTime) {
			m = x
		}
	}
	return m, nil
}

// Check checks run m: it prints the run's figures and one PASS or FAIL line
// per claim to w, and returns an error when a claim fails or the run's
// results or predictions cannot be read.
func Check(m runs.Meta, rule ProbeRule, w io.Writer) error {
	f, err := results.Read(filepath.Join(m.Dir, runs.ResultsFile))
	if err != nil {
		return err
	}
	cs, err := Claims(f)
	if err != nil {
		return fmt.Errorf("run %s: %w", m.ID, err)
	}
	scan, err := ScanProbes(m.Dir, rule)
	if err != nil {
		return fmt.Errorf("run %s: %w", m.ID, err)
	}
	cs = append([]Claim{ProbeClaim(scan)}, cs...)
	fmt.Fprintf(w, "run %s\n\n%s\n", m.ID, Figures(f))
	failed := 0
	for _, c := range cs {
		mark := "PASS"
		if !c.OK {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(w, "%s  %s\n", mark, c.Text)
	}
	if failed > 0 {
		return fmt.Errorf("run %s: %d of %d demo claims failed", m.ID, failed, len(cs))
	}
	fmt.Fprintf(w, "run %s shows the paper's claims on synthetic data\n", m.ID)
	return nil
}
