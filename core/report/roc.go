package report

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// rocPoints is the ROC curve of scores against truth (1 positive, 0
// negative, NaN unknown and skipped): one point per distinct threshold,
// tied scores taken together, from (0,0) to (1,1). ok is false when the
// known truths hold one class only.
func rocPoints(scores []float32, truth []float64) (fpr, tpr []float64, ok bool) {
	idx := make([]int, 0, len(scores))
	var pos, neg float64
	for i, t := range truth {
		switch t {
		case 1:
			pos++
		case 0:
			neg++
		default:
			continue
		}
		idx = append(idx, i)
	}
	if pos == 0 || neg == 0 {
		return nil, nil, false
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	fpr, tpr = []float64{0}, []float64{0}
	var tp, fp float64
	for j, i := range idx {
		if truth[i] == 1 {
			tp++
		} else {
			fp++
		}
		if j == len(idx)-1 || scores[idx[j+1]] != scores[i] {
			fpr, tpr = append(fpr, fp/neg), append(tpr, tp/pos)
		}
	}
	return fpr, tpr, true
}

// rocCell is one evaluation cell's predictions directory.
type rocCell struct {
	eval, protocol, init string
	fraction             float64
	dir                  string
}

// rocCells finds the predictions of each (evaluation, protocol, init) at
// its largest label fraction, in path order.
func rocCells(runDir string) ([]rocCell, error) {
	root := filepath.Join(runDir, runs.PredictionsDir)
	dirs, err := filepath.Glob(filepath.Join(root, "*", "*", "*", "f*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	best := map[string]int{}
	var out []rocCell
	for _, d := range dirs {
		rel, _ := filepath.Rel(root, d)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		var f float64
		if _, err := fmt.Sscanf(parts[3], "f%g", &f); err != nil {
			continue // not a cell written by core/experiment
		}
		c := rocCell{eval: parts[0], protocol: parts[1], init: parts[2], fraction: f, dir: d}
		k := strings.Join(parts[:3], "/")
		if i, ok := best[k]; !ok {
			best[k] = len(out)
			out = append(out, c)
		} else if f > out[i].fraction {
			out[i] = c
		}
	}
	return out, nil
}

// ROCFromRun draws, for each evaluation, protocol and init of a run, the
// ROC curves of every seed's predictions at the largest label fraction:
// one colour per label, one thin line per seed, the legend giving the AUC's
// mean and standard deviation over the seeds. It returns the plots, titled,
// relative to runDir.
func ROCFromRun(runDir string) ([]Figure, error) {
	cells, err := rocCells(runDir)
	if err != nil {
		return nil, err
	}
	var figs []Figure
	for _, c := range cells {
		files, _ := filepath.Glob(filepath.Join(c.dir, "*.csv"))
		sort.Strings(files)
		var order []string
		curves := map[string][][2][]float64{}
		aucs := map[string][]float64{}
		for _, f := range files {
			if err := addROCs(f, curves, aucs, &order); err != nil {
				return nil, err
			}
		}
		var groups []ROCGroup
		for _, l := range order {
			m, sd, err := stats.MeanStd(aucs[l])
			if err != nil {
				return nil, fmt.Errorf("roc %s: label %q: %w", c.dir, l, err)
			}
			groups = append(groups, ROCGroup{Name: l, Curves: curves[l],
				Legend: aucLegend(l, m, sd, len(aucs[l]))})
		}
		if len(groups) == 0 {
			continue
		}
		name := fmt.Sprintf("roc-seeds-%s-%s-%s-f%g.png", c.eval, c.protocol, c.init, c.fraction)
		title := fmt.Sprintf("ROC: %s, %s, init %s, %s of the labels, every seed", c.eval, c.protocol, c.init, percent(c.fraction))
		if err := ROCGroups(filepath.Join(runDir, runs.PlotsDir, name), title, groups); err != nil {
			return nil, err
		}
		figs = append(figs, Figure{Title: title, Path: filepath.Join(runs.PlotsDir, name)})
	}
	return figs, nil
}

// addROCs reads one probe's predictions CSV and adds each label's (each
// class's, one against the rest) curve and AUC.
func addROCs(path string, curves map[string][][2][]float64, aucs map[string][]float64, order *[]string) error {
	p, err := results.ReadPredictionsFile(path)
	if err != nil {
		return err
	}
	add := func(label string, scores []float32, truth []float64) {
		fpr, tpr, ok := rocPoints(scores, truth)
		if !ok {
			return
		}
		if _, seen := aucs[label]; !seen {
			*order = append(*order, label)
		}
		curves[label] = append(curves[label], [2][]float64{fpr, tpr})
		aucs[label] = append(aucs[label], AUC(fpr, tpr))
	}
	switch p := p.(type) {
	case *results.LabelPredictions:
		for k, l := range p.Labels {
			scores, truth := make([]float32, len(p.IDs)), make([]float64, len(p.IDs))
			for i := range p.IDs {
				scores[i], truth[i] = p.Scores[i][k], p.Truth[i][k]
			}
			add(l, scores, truth)
		}
	case *results.ClassPredictions:
		for k, c := range p.Classes {
			scores, truth := make([]float32, len(p.IDs)), make([]float64, len(p.IDs))
			for i := range p.IDs {
				scores[i], truth[i] = p.Scores[i][k], 0
				if p.Truth[i] == k {
					truth[i] = 1
				}
			}
			add(c, scores, truth)
		}
	}
	return nil
}

// aucLegend says a label's AUC over n seeds: "Edema: AUC 0.912 ± 0.010
// (std over 5 seeds)", or with one seed no spread.
func aucLegend(label string, mean, std float64, n int) string {
	if n == 1 {
		return fmt.Sprintf("%s: AUC %.3f (one seed)", label, mean)
	}
	return fmt.Sprintf("%s: AUC %.3f ± %.3f (std over %d seeds)", label, mean, std, n)
}
