package evalplugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/evaluators/metrics"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// namedMetric is one score to compute; optional scores (per-label AUCs)
// are left out when undefined (a label with one class in the test split).
type namedMetric struct {
	name     string
	metric   linear.Metric
	optional bool
}

// taskMetrics lists the scores of a classification task: "auc" and
// "auc:<label>" for binary and multi-label tasks, "accuracy" and "auc"
// (one-vs-rest) for multi-class ones.
func taskMetrics(task linear.Task, test *split) []namedMetric {
	ls := test.linearSplit(task)
	if task == linear.MultiClass {
		return []namedMetric{{name: "accuracy", metric: linear.Accuracy(ls)}, {name: "auc", metric: linear.MeanAUC(ls)}}
	}
	ms := []namedMetric{{name: "auc", metric: linear.MeanAUC(ls)}}
	for c, n := range test.names {
		ms = append(ms, namedMetric{name: "auc:" + n, metric: linear.LabelAUC(ls, c), optional: true})
	}
	return ms
}

// labelResult scores the test predictions of each seed (preds[i] belongs
// to seeds[i] and is named predNames[i]) for task: Scores aggregated over
// seeds with a bootstrap interval over test examples, one Predictions per
// seed, and the ROC curve of each label for the first seed.
func labelResult(ctx context.Context, task linear.Task, seeds []uint64, predNames []string, preds [][][]float32, test *split, boot metrics.BootstrapConfig) (sdk.EvalResult, error) {
	res := sdk.EvalResult{Metrics: map[string]float64{}}
	for _, m := range taskMetrics(task, test) {
		sum, err := linear.Summarize(ctx, seeds, preds, m.metric, boot)
		if m.optional && errors.Is(err, metrics.ErrOneClass) {
			continue
		}
		if errors.Is(err, metrics.ErrOneClass) {
			return res, fmt.Errorf("score %q on split %q: no label has both positive and negative examples (%w)", m.name, test.name, err)
		}
		if err != nil {
			return res, fmt.Errorf("score %q on split %q: %w", m.name, test.name, err)
		}
		res.Scores = append(res.Scores, score(m.name, sum))
	}
	targets, err := test.labelTensor()
	if err != nil {
		return res, fmt.Errorf("split %q labels: %w", test.name, err)
	}
	for i, p := range preds {
		t, err := predTensor(p, test.k)
		if err != nil {
			return res, fmt.Errorf("predictions %s: %w", predNames[i], err)
		}
		res.Predictions = append(res.Predictions, sdk.Predictions{Name: predNames[i], IDs: test.ids, Scores: t, Targets: targets, Names: test.names})
	}
	if res.Curves, err = rocCurves(preds[0], test); err != nil {
		return res, err
	}
	return res, nil
}

// score converts a seed summary.
func score(name string, s *linear.SeedSummary) sdk.Score {
	return sdk.Score{Metric: name, Mean: s.Mean, Std: s.Std, CILo: s.CI.Lo, CIHi: s.CI.Hi,
		Seeds: append([]uint64(nil), s.Seeds...), Values: append([]float64(nil), s.Values...)}
}

// predTensor packs N rows of k scores as an (N, k) float32 tensor.
func predTensor(p [][]float32, k int) (*tensor.Tensor, error) {
	flat := make([]float32, 0, len(p)*k)
	for i, row := range p {
		if len(row) != k {
			return nil, fmt.Errorf("row %d has %d scores, want %d", i, len(row), k)
		}
		flat = append(flat, row...)
	}
	return tensor.FromFloat32([]int64{int64(len(p)), int64(k)}, flat)
}

// rocCurves returns the ROC curve "roc:<label>" of each label column of
// pred against test's labels (one-vs-rest for multi-class), skipping
// labels whose test examples hold one class only.
func rocCurves(pred [][]float32, test *split) ([]sdk.Curve, error) {
	var out []sdk.Curve
	for c, name := range test.names {
		sc, lb := make([]float64, test.rows), make([]float64, test.rows)
		for i := range sc {
			sc[i], lb[i] = float64(pred[i][c]), float64(test.label(i, c))
		}
		pts, err := metrics.ROC(sc, lb)
		if errors.Is(err, metrics.ErrOneClass) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ROC of label %q: %w", name, err)
		}
		cv := sdk.Curve{Name: "roc:" + name, XLabel: "fpr", YLabel: "tpr", X: make([]float64, len(pts)), Y: make([]float64, len(pts))}
		for i, p := range pts {
			cv.X[i], cv.Y[i] = p.FPR, p.TPR
		}
		out = append(out, cv)
	}
	return out, nil
}

// constScore is a score with one value, no spread and a degenerate
// interval (e.g. the chance level of a ranking).
func constScore(name string, v float64) sdk.Score {
	return sdk.Score{Metric: name, Mean: v, CILo: v, CIHi: v, Seeds: []uint64{0}, Values: []float64{v}}
}
