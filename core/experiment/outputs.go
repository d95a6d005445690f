package experiment

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk"
)

// cellName names one evaluation cell in file names and metric keys, e.g.
// "chexpert-linear/linear/convirt/f0.01".
func cellName(eval, protocol, init string, fraction float64) string {
	return fmt.Sprintf("%s/%s/%s/f%s", eval, protocol, init, strconv.FormatFloat(fraction, 'g', -1, 64))
}

// metricKey makes a metric key MLflow accepts (letters, digits, _ - . / :
// and spaces): "p@10" becomes "p_at_10".
func metricKey(s string) string {
	return strings.NewReplacer("@", "_at_", "%", "pct", "#", "_").Replace(s)
}

// writeOutputs records one evaluation cell: each score's mean as a metric,
// each probe's predictions as a CSV and the ROC curves as a plot.
func (s *session) writeOutputs(eval, protocol, init string, fraction float64, res sdk.EvalResult, task string) error {
	cell := cellName(eval, protocol, init, fraction)
	now := time.Now()
	var ms []runs.Metric
	for _, sc := range res.Scores {
		ms = append(ms, runs.Metric{Key: metricKey("eval/" + cell + "/" + sc.Metric), Value: sc.Mean, Time: now})
	}
	for _, k := range slices.Sorted(maps.Keys(res.Metrics)) { // counts: examples, queries, ...
		ms = append(ms, runs.Metric{Key: metricKey("eval/" + cell + "/" + k), Value: res.Metrics[k], Time: now})
	}
	if err := s.tracker.LogMetrics(ms); err != nil {
		return err
	}
	for _, p := range res.Predictions {
		var buf bytes.Buffer
		if err := results.WritePredictions(&buf, p, task); err != nil {
			return fmt.Errorf("predictions %s: %w", p.Name, err)
		}
		rel := filepath.Join(runs.PredictionsDir, filepath.FromSlash(cell), p.Name+".csv")
		if err := s.run.WriteFileAtomic(rel, buf.Bytes()); err != nil {
			return err
		}
	}
	var curves []report.Curve
	for _, c := range res.Curves {
		label, ok := strings.CutPrefix(c.Name, "roc:")
		if ok {
			curves = append(curves, report.Curve{Name: label, FPR: c.X, TPR: c.Y, AUC: math.NaN()})
		}
	}
	if len(curves) > 0 {
		name := "roc-" + strings.ReplaceAll(cell, "/", "-") + ".png"
		if err := report.ROC(s.runPath(runs.PlotsDir, name), curves); err != nil {
			return err
		}
	}
	return nil
}
