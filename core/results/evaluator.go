package results

import (
	"fmt"
	"io"
	"math"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// Scores are an evaluator's scores (sdk.EvalResult.Scores) as Cell takes
// them, each with its test-set bootstrap interval.
func Scores(scores []sdk.Score) []Score {
	out := make([]Score, len(scores))
	for i, sc := range scores {
		out[i] = Score{Metric: sc.Metric, Seeds: sc.Seeds, Values: sc.Values, TestBootstrap: stats.Interval{Lo: sc.CILo, Hi: sc.CIHi}}
	}
	return out
}

// WritePredictions writes one probe's predictions (an evaluator's
// sdk.Predictions) as a CSV in the layout of docs/results.md: per-label
// truth and score columns (WriteLabelPredictions), or for multi-class tasks
// the true class and a score per class (WriteClassPredictions). Missing
// targets are written as unknown truths.
func WritePredictions(w io.Writer, p sdk.Predictions, task string) error {
	scores, err := p.Scores.Float32s()
	if err != nil {
		return err
	}
	n, k := len(p.IDs), len(p.Names)
	if len(scores) != n*k {
		return fmt.Errorf("%d scores for %d samples x %d columns", len(scores), n, k)
	}
	var targets []float32
	if p.Targets != nil {
		if targets, err = p.Targets.Float32s(); err != nil {
			return err
		}
	}
	if len(targets) != n*k {
		targets = make([]float32, n*k)
		for i := range targets {
			targets[i] = float32(math.NaN())
		}
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = scores[i*k : (i+1)*k]
	}
	if task == sdk.TaskMulticlass {
		truth := make([]int, n)
		for i := range truth {
			for j := 0; j < k; j++ {
				if targets[i*k+j] == 1 {
					truth[i] = j
				}
			}
		}
		return WriteClassPredictions(w, p.IDs, p.Names, truth, rows)
	}
	truth := make([][]float64, n)
	for i := range truth {
		truth[i] = make([]float64, k)
		for j := range truth[i] {
			truth[i][j] = float64(targets[i*k+j])
		}
	}
	return WriteLabelPredictions(w, p.IDs, p.Names, truth, rows)
}
