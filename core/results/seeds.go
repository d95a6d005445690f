package results

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/sdk/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// TQuantile returns the p-quantile of Student's t distribution with df
// degrees of freedom (df > 0, p in (0, 1)), e.g. TQuantile(0.975, 4) =
// 2.776, the textbook value.
func TQuantile(p, df float64) (float64, error) {
	if !(p > 0 && p < 1) {
		return 0, fmt.Errorf("results: t quantile: p must be in (0, 1), got %v", p)
	}
	if !(df > 0) || math.IsInf(df, 0) {
		return 0, fmt.Errorf("results: t quantile: degrees of freedom must be finite and > 0, got %v", df)
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p), nil
}

// SeedInterval returns the Student-t interval at level (e.g. 0.95) for the
// mean of per-seed values, mean ± t_{(1+level)/2, n-1} · std/√n with std
// the sample standard deviation: the uncertainty of the mean over seeds,
// treating the seeds as independent draws of the training subset (and of
// the probe's own randomness). It needs at least two values.
func SeedInterval(values []float64, level float64) (stats.Interval, error) {
	if len(values) < 2 {
		return stats.Interval{}, fmt.Errorf("results: an interval over seeds needs at least 2 values, got %d", len(values))
	}
	if !(level > 0 && level < 1) {
		return stats.Interval{}, fmt.Errorf("results: interval level must be in (0, 1), got %v", level)
	}
	mean, std, err := stats.MeanStd(values)
	if err != nil {
		return stats.Interval{}, err
	}
	n := float64(len(values))
	t, err := TQuantile((1+level)/2, n-1)
	if err != nil {
		return stats.Interval{}, err
	}
	half := t * std / math.Sqrt(n)
	return stats.Interval{Lo: mean - half, Hi: mean + half}, nil
}
