package linear

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
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
	CI metrics.Interval
	// Predictions holds each seed's test predictions, for the CSVs.
	Predictions [][][]float32
}

// RunSeeds trains one probe per seed on the training subset that subset
// returns for it (the caller samples the seed-specific labelled fraction),
// predicts the test split and aggregates metric over seeds, with a
// bootstrap interval (boot.Seed fixes its resampling).
func RunSeeds(ctx context.Context, seeds []uint64, subset func(seed uint64) (Split, error), val, test Split, cfg Config, metric Metric, boot metrics.BootstrapConfig) (*SeedSummary, error) {
	if len(seeds) == 0 {
		return nil, fmt.Errorf("linear: no seeds")
	}
	if test.X.Rows == 0 {
		return nil, fmt.Errorf("linear: empty test split")
	}
	sum := &SeedSummary{Seeds: append([]uint64(nil), seeds...)}
	all := make([]int, test.X.Rows)
	for i := range all {
		all[i] = i
	}
	for _, seed := range seeds {
		train, err := subset(seed)
		if err != nil {
			return nil, fmt.Errorf("linear: seed %d: training subset: %w", seed, err)
		}
		p, err := Train(ctx, train, val, cfg)
		if err != nil {
			return nil, fmt.Errorf("linear: seed %d: %w", seed, err)
		}
		pred, err := p.Predict(test.X)
		if err != nil {
			return nil, fmt.Errorf("linear: seed %d: %w", seed, err)
		}
		v, err := metric(pred, all)
		if err != nil {
			return nil, fmt.Errorf("linear: seed %d: test metric: %w", seed, err)
		}
		sum.Values = append(sum.Values, v)
		sum.Predictions = append(sum.Predictions, pred)
	}
	var err error
	if sum.Mean, sum.Std, err = metrics.MeanStd(sum.Values); err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	sum.CI, err = metrics.Bootstrap(ctx, test.X.Rows, func(idx []int) (float64, error) {
		var s float64
		for _, pred := range sum.Predictions {
			v, err := metric(pred, idx)
			if err != nil {
				return 0, err
			}
			s += v
		}
		return s / float64(len(sum.Predictions)), nil
	}, boot)
	if err != nil {
		return nil, fmt.Errorf("linear: bootstrap: %w", err)
	}
	return sum, nil
}

// MeanAUC returns a Metric: the mean over label columns of the ROC AUC of
// the predictions against the split's Y, skipping columns with one class in
// the (resampled) examples; it returns metrics.ErrOneClass when all do.
func MeanAUC(s Split) Metric {
	return func(pred [][]float32, idx []int) (float64, error) {
		var total float64
		var n int
		for c := 0; c < s.Y.Cols; c++ {
			sc, lb := make([]float64, len(idx)), make([]float64, len(idx))
			for k, i := range idx {
				sc[k], lb[k] = float64(pred[i][c]), float64(s.Y.Data[i*s.Y.Cols+c])
			}
			auc, err := metrics.AUC(sc, lb)
			if err != nil {
				continue
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
