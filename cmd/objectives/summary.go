package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// row is one objective's linear-probe results, by label fraction.
type row struct {
	Objective string
	Task      string
	Metric    string
	Fractions []float64
	Mean, Std []float64
	Seeds     int
}

// findSweep returns the sweep run id names, or the newest finished run of
// experiment that has children.
func findSweep(root, experiment, id string) (runs.Meta, error) {
	if id != "" {
		return runs.Find(root, id)
	}
	all, err := runs.List(root, runs.Filter{Experiment: experiment, Status: runs.Finished})
	if err != nil {
		return runs.Meta{}, err
	}
	for _, m := range all {
		if kids, err := runs.Children(root, m.ID); err == nil && len(kids) > 0 && m.ParentID == "" {
			return m, nil
		}
	}
	return runs.Meta{}, fmt.Errorf("no finished sweep of experiment %q under %s", experiment, root)
}

// collect reads each child's loss plugin and its linear probes (init
// convirt, the headline metric: "auc" or "accuracy") from results.json.
func collect(root, parentID string) ([]row, error) {
	kids, err := runs.Children(root, parentID)
	if err != nil {
		return nil, err
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("sweep %s has no child runs", parentID)
	}
	var rows []row
	for _, k := range kids {
		var params map[string]string
		b, err := os.ReadFile(filepath.Join(k.Dir, runs.ParamsFile))
		if err == nil {
			err = json.Unmarshal(b, &params)
		}
		if err != nil {
			return nil, fmt.Errorf("run %s: params: %w", k.Dir, err)
		}
		f, err := results.Read(filepath.Join(k.Dir, runs.ResultsFile))
		if err != nil {
			return nil, fmt.Errorf("run %s (loss %s, %s): %w", k.Dir, params["loss.plugin"], k.Status, err)
		}
		r := row{Objective: params["loss.plugin"]}
		for _, e := range f.Entries {
			if e.Protocol != "linear" || e.Init != "convirt" || (e.Metric != "auc" && e.Metric != "accuracy") {
				continue
			}
			r.Task, r.Metric = e.Task, e.Metric
			r.Fractions, r.Mean, r.Std = append(r.Fractions, e.Fraction), append(r.Mean, e.Mean), append(r.Std, e.Std)
			r.Seeds = len(e.Values)
		}
		if len(r.Fractions) == 0 {
			return nil, fmt.Errorf("run %s (loss %s): no linear-probe result of init convirt in %s", k.Dir, r.Objective, runs.ResultsFile)
		}
		sortByFraction(&r)
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Objective < rows[j].Objective })
	return rows, nil
}

func sortByFraction(r *row) {
	idx := make([]int, len(r.Fractions))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return r.Fractions[idx[a]] < r.Fractions[idx[b]] })
	f, m, s := make([]float64, len(idx)), make([]float64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		f[i], m[i], s[i] = r.Fractions[j], r.Mean[j], r.Std[j]
	}
	r.Fractions, r.Mean, r.Std = f, m, s
}

// table is the markdown table: one row per objective, one column per
// fraction, mean ± standard deviation over the seeds.
func table(rows []row) string {
	var b strings.Builder
	fr := rows[0].Fractions
	fmt.Fprintf(&b, "| objective (%s %s, linear probe, %d seeds) |", rows[0].Task, rows[0].Metric, rows[0].Seeds)
	for _, f := range fr {
		fmt.Fprintf(&b, " %g%% |", 100*f)
	}
	b.WriteString("\n|---|")
	for range fr {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r.Objective)
		for i := range r.Fractions {
			fmt.Fprintf(&b, " %.3f ± %.3f |", r.Mean[i], r.Std[i])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// plot is the label-efficiency plot, one line per objective with a band
// of ± one standard deviation over the seeds.
func plot(path string, rows []row) error {
	if len(rows) == 0 {
		return errors.New("nothing to plot")
	}
	series := make([]report.Series, len(rows))
	for i, r := range rows {
		series[i] = report.Series{Name: r.Objective, X: r.Fractions, Y: r.Mean, Err: r.Std}
	}
	return report.LabelEfficiency(path, series, rows[0].Task+" "+rows[0].Metric)
}
