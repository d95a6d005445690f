package linear

import (
	"context"
	"errors"
	"fmt"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// DefaultSeeds is the number of probes per setting, as in the paper.
const DefaultSeeds = 5

// Metric scores a probe's test predictions restricted to the test examples
// idx (which may repeat, as in bootstrap resamples).
type Metric func(pred [][]float32, idx []int) (float64, error)

// SeedSummary aggregates one setting's probes over seeds.
type SeedSummary struct {
	Seeds  []uint64
	Values []float64 // the test metric of each seed's probe
	Mean   float64
	Std    float64 // sample standard deviation over seeds
	// CI is a bootstrap interval for Mean over resamples of the test
	// examples (each resample scores every seed's predictions).
	CI stats.Interval
	// Predictions holds each seed's test predictions, for the CSVs.
	Predictions [][][]float32
}

// RunSeeds trains one probe per seed on the training subset that subset
// returns for it (the caller samples the seed-specific labelled fraction),
// predicts the test split and aggregates metric over seeds, with a
// bootstrap interval (boot.Seed fixes its resampling). It is TrainSeeds
// followed by Summarize.
func RunSeeds(ctx context.Context, seeds []uint64, subset func(seed uint64) (Split, error), val, test Split, cfg Config, metric Metric, boot metrics.BootstrapConfig) (*SeedSummary, error) {
	_, preds, err := TrainSeeds(ctx, seeds, subset, val, test, cfg)
	if err != nil {
		return nil, err
	}
	return Summarize(ctx, seeds, preds, metric, boot)
}

// ErrDegenerate marks a probe whose test scores are all equal where they
// should rank something: for a label with both classes among the test
// split's known labels, or, for a multi-class task, for every class. Such a
// probe ignores the features, and its AUC of 0.5 would measure nothing.
var ErrDegenerate = errors.New("degenerate probe: constant test scores")

// TrainSeeds trains one probe per seed on the training subset that subset
// returns for it, choosing its L2 strength on val, and returns each seed's
// probe and test predictions in the order of seeds. Callers that score
// several metrics train once here and call Summarize per metric. A probe
// whose test scores are constant (CheckScores) is an error naming the seed
// and the label, wrapping ErrDegenerate.
func TrainSeeds(ctx context.Context, seeds []uint64, subset func(seed uint64) (Split, error), val, test Split, cfg Config) ([]*Probe, [][][]float32, error) {
	if len(seeds) == 0 {
		return nil, nil, fmt.Errorf("linear: no seeds")
	}
	if test.X.Rows == 0 {
		return nil, nil, fmt.Errorf("linear: empty test split")
	}
	probes := make([]*Probe, 0, len(seeds))
	preds := make([][][]float32, 0, len(seeds))
	for _, seed := range seeds {
		train, err := subset(seed)
		if err != nil {
			return nil, nil, fmt.Errorf("linear: seed %d: training subset: %w", seed, err)
		}
		p, err := Train(ctx, train, val, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("linear: seed %d: %w", seed, err)
		}
		pred, err := p.Predict(test.X)
		if err != nil {
			return nil, nil, fmt.Errorf("linear: seed %d: %w", seed, err)
		}
		if err := CheckScores(p.Task, pred, test); err != nil {
			return nil, nil, fmt.Errorf("linear: seed %d (%d training examples, l2 %g): %w", seed, train.X.Rows, p.L2, err)
		}
		probes, preds = append(probes, p), append(preds, pred)
	}
	return probes, preds, nil
}

// CheckScores returns an error wrapping ErrDegenerate when a probe's test
// predictions pred are constant where they must rank: for a sigmoid task,
// a label whose known test labels hold both classes and whose scores on
// those examples are all equal; for a multi-class task, predictions equal
// for every example.
// The error names the label (test.Names) and the constant score.
func CheckScores(task Task, pred [][]float32, test Split) error {
	if len(pred) < 2 {
		return nil
	}
	if task == MultiClass {
		for _, row := range pred[1:] {
			for c, v := range row {
				if v != pred[0][c] {
					return nil
				}
			}
		}
		return fmt.Errorf("all %d test examples get the same class probabilities %v: %w", len(pred), pred[0], ErrDegenerate)
	}
	if test.Y.Rows != len(pred) {
		return fmt.Errorf("%d predictions for %d test rows", len(pred), test.Y.Rows)
	}
	for c := 0; c < test.Y.Cols; c++ {
		var pos, neg, varies bool
		first, known := float32(0), 0
		for i, row := range pred {
			switch test.Y.Data[i*test.Y.Cols+c] {
			case 1:
				pos = true
			case 0:
				neg = true
			default: // unknown: not scored
				continue
			}
			if known == 0 {
				first = row[c]
			} else if row[c] != first {
				varies = true
			}
			known++
		}
		if pos && neg && !varies {
			return fmt.Errorf("label %s: all %d test scores with a known label are %v although those labels hold both classes: %w", test.name(c), known, first, ErrDegenerate)
		}
	}
	return nil
}

// Summarize scores each seed's test predictions (preds[i] belongs to
// seeds[i]) with metric and aggregates over seeds: mean, sample standard
// deviation and a bootstrap interval for the mean over resamples of the
// test examples, each resample scoring every seed's predictions.
func Summarize(ctx context.Context, seeds []uint64, preds [][][]float32, metric Metric, boot metrics.BootstrapConfig) (*SeedSummary, error) {
	if len(seeds) == 0 || len(seeds) != len(preds) {
		return nil, fmt.Errorf("linear: %d seeds but %d predictions", len(seeds), len(preds))
	}
	n := len(preds[0])
	for i, p := range preds {
		if len(p) != n || n == 0 {
			return nil, fmt.Errorf("linear: seed %d has %d test predictions, seed %d has %d", seeds[i], len(p), seeds[0], n)
		}
	}
	sum := &SeedSummary{Seeds: append([]uint64(nil), seeds...), Predictions: preds}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	for i, pred := range preds {
		v, err := metric(pred, all)
		if err != nil {
			return nil, fmt.Errorf("linear: seed %d: test metric: %w", seeds[i], err)
		}
		sum.Values = append(sum.Values, v)
	}
	var err error
	if sum.Mean, sum.Std, err = stats.MeanStd(sum.Values); err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	sum.CI, err = metrics.Bootstrap(ctx, n, func(idx []int) (float64, error) {
		var s float64
		for _, pred := range preds {
			v, err := metric(pred, idx)
			if err != nil {
				return 0, err
			}
			s += v
		}
		return s / float64(len(preds)), nil
	}, boot)
	if err != nil {
		return nil, fmt.Errorf("linear: bootstrap: %w", err)
	}
	return sum, nil
}

// LabelAUC returns a Metric: the ROC AUC of label column c of the
// predictions against the split's Y (unknown labels skipped). It returns
// metrics.ErrOneClass (wrapped) when the (resampled) examples hold one
// class only.
func LabelAUC(s Split, c int) Metric {
	return func(pred [][]float32, idx []int) (float64, error) {
		if c < 0 || c >= s.Y.Cols {
			return 0, fmt.Errorf("label column %d outside [0, %d)", c, s.Y.Cols)
		}
		sc, lb := make([]float64, len(idx)), make([]float64, len(idx))
		for k, i := range idx {
			if i < 0 || i >= s.Y.Rows || c >= len(pred[i]) {
				return 0, fmt.Errorf("example %d: no prediction or label for column %d", i, c)
			}
			sc[k], lb[k] = float64(pred[i][c]), float64(s.Y.Data[i*s.Y.Cols+c])
		}
		return metrics.AUC(sc, lb)
	}
}

// MeanAUC returns a Metric: the mean over label columns of LabelAUC,
// skipping columns with one class in the (resampled) examples; it returns
// metrics.ErrOneClass when all do.
func MeanAUC(s Split) Metric {
	return func(pred [][]float32, idx []int) (float64, error) {
		var total float64
		var n int
		for c := 0; c < s.Y.Cols; c++ {
			auc, err := LabelAUC(s, c)(pred, idx)
			if errors.Is(err, metrics.ErrOneClass) {
				continue
			}
			if err != nil {
				return 0, err
			}
			total += auc
			n++
		}
		if n == 0 {
			return 0, metrics.ErrOneClass
		}
		return total / float64(n), nil
	}
}

// Accuracy returns a Metric: argmax accuracy against the split's Class.
func Accuracy(s Split) Metric {
	return func(pred [][]float32, idx []int) (float64, error) {
		var ok int
		for _, i := range idx {
			best := 0
			for c, v := range pred[i] {
				if v > pred[i][best] {
					best = c
				}
			}
			if best == s.Class[i] {
				ok++
			}
		}
		if len(idx) == 0 {
			return 0, fmt.Errorf("accuracy of no examples")
		}
		return float64(ok) / float64(len(idx)), nil
	}
}
