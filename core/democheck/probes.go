package democheck

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// ProbeRule decides whether a probe's test predictions are degenerate:
// constant scores where they must rank. It is the linear evaluator's rule
// (cmd/convirt wires in linear.CheckScores); an error says what is constant,
// naming the label.
type ProbeRule interface {
	CheckLabels(p *results.LabelPredictions) error
	CheckClasses(p *results.ClassPredictions) error
}

// ProbeScan is what ScanProbes found in a run's predictions CSVs.
type ProbeScan struct {
	Files      int
	Degenerate []string // one line per degenerate probe: file and label
	Ranked     []string // labels with both classes in some test split
	OneClass   []string // labels with one class (or none) in every test split
}

// ScanProbes reads every predictions CSV under the run's predictions
// directory and reports the probes whose test scores are constant where
// they must rank (the rule's verdict): a label with both classes among its
// known test labels whose scores are all equal, or a multi-class probe
// giving every example the same probabilities.
func ScanProbes(runDir string, rule ProbeRule) (ProbeScan, error) {
	var s ProbeScan
	root := filepath.Join(runDir, runs.PredictionsDir)
	twoClass := map[string]bool{}
	var seen []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".csv" {
			return err
		}
		p, err := results.ReadPredictionsFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(runDir, path)
		s.Files++
		switch p := p.(type) {
		case *results.LabelPredictions:
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
			if err := rule.CheckLabels(p); err != nil {
				s.Degenerate = append(s.Degenerate, fmt.Sprintf("%s: %v", rel, err))
			}
		case *results.ClassPredictions:
			if err := rule.CheckClasses(p); err != nil {
				s.Degenerate = append(s.Degenerate, fmt.Sprintf("%s: %v", rel, err))
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && s.Files == 0 {
		return s, fmt.Errorf("no predictions under %s", root)
	}
	if err != nil {
		return s, err
	}
	if s.Files == 0 {
		return s, fmt.Errorf("no predictions CSVs under %s", root)
	}
	for _, l := range seen {
		if twoClass[l] {
			s.Ranked = append(s.Ranked, l)
		} else {
			s.OneClass = append(s.OneClass, l)
		}
	}
	return s, nil
}

// ProbeClaim states the result of ScanProbes.
func ProbeClaim(s ProbeScan) Claim {
	if len(s.Degenerate) > 0 {
		return Claim{fmt.Sprintf("no degenerate probe: %d of %d prediction files have constant scores:\n      %s",
			len(s.Degenerate), s.Files, strings.Join(s.Degenerate, "\n      ")), false}
	}
	text := fmt.Sprintf("no degenerate probe: in all %d prediction files every label with both classes in the test split (%s) gets varying scores",
		s.Files, strings.Join(s.Ranked, ", "))
	if len(s.OneClass) > 0 {
		text += fmt.Sprintf("; skipped, one class in the test split so no AUC: %s", strings.Join(s.OneClass, ", "))
	}
	return Claim{text, true}
}
