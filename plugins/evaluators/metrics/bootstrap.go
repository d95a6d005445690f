package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/convirt/convirt/plugins/sdk/stats"
)

// BootstrapConfig sets a percentile bootstrap.
type BootstrapConfig struct {
	// Resamples is the number of bootstrap resamples (default 1000).
	Resamples int
	// Level is the confidence level (default 0.95).
	Level float64
	// Seed makes the resampling repeatable.
	Seed uint64
}

func (c BootstrapConfig) withDefaults() (BootstrapConfig, error) {
	if c.Resamples == 0 {
		c.Resamples = 1000
	}
	if c.Level == 0 {
		c.Level = 0.95
	}
	if c.Resamples < 10 {
		return c, fmt.Errorf("metrics: bootstrap needs at least 10 resamples, got %d", c.Resamples)
	}
	if !(c.Level > 0 && c.Level < 1) {
		return c, fmt.Errorf("metrics: bootstrap level must be in (0, 1), got %v", c.Level)
	}
	return c, nil
}

// Bootstrap returns a percentile bootstrap interval for a metric over n test
// examples. metric is called with the indices of each resample (drawn with
// replacement, n of them) and may be called with the same index several
// times. Resamples on which the metric returns ErrOneClass (a resample with
// one class only) are skipped; if more than half of them are, or the metric
// fails otherwise, Bootstrap returns the error.
func Bootstrap(ctx context.Context, n int, metric func(idx []int) (float64, error), cfg BootstrapConfig) (stats.Interval, error) {
	if n <= 0 {
		return stats.Interval{}, fmt.Errorf("metrics: bootstrap over %d examples", n)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return StratifiedBootstrap(ctx, [][]int{all}, metric, cfg)
}

// StratifiedBootstrap is Bootstrap with the examples in strata (e.g. the
// queries of each retrieval category): each resample draws, stratum by
// stratum, as many indices as the stratum holds, with replacement from that
// stratum, and passes them to metric concatenated in stratum order. Every
// resample thus keeps the strata's sizes. With one stratum 0..n-1 it draws
// exactly the resamples of Bootstrap.
func StratifiedBootstrap(ctx context.Context, strata [][]int, metric func(idx []int) (float64, error), cfg BootstrapConfig) (stats.Interval, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return stats.Interval{}, err
	}
	n := 0
	for i, s := range strata {
		if len(s) == 0 {
			return stats.Interval{}, fmt.Errorf("metrics: bootstrap stratum %d is empty", i)
		}
		n += len(s)
	}
	if n == 0 {
		return stats.Interval{}, fmt.Errorf("metrics: bootstrap over 0 examples")
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	idx := make([]int, n)
	vals := make([]float64, 0, cfg.Resamples)
	skipped := 0
	for b := 0; b < cfg.Resamples; b++ {
		if b%64 == 0 {
			if err := ctx.Err(); err != nil {
				return stats.Interval{}, err
			}
		}
		k := 0
		for _, s := range strata {
			for range s {
				idx[k] = s[r.IntN(len(s))]
				k++
			}
		}
		v, err := metric(idx)
		if errors.Is(err, ErrOneClass) {
			skipped++
			continue
		}
		if err != nil {
			return stats.Interval{}, fmt.Errorf("metrics: bootstrap resample %d: %w", b, err)
		}
		vals = append(vals, v)
	}
	if 2*skipped > cfg.Resamples {
		return stats.Interval{}, fmt.Errorf("metrics: bootstrap: %d of %d resamples had one class: %w", skipped, cfg.Resamples, ErrOneClass)
	}
	sort.Float64s(vals)
	alpha := (1 - cfg.Level) / 2
	return stats.Interval{Lo: quantile(vals, alpha), Hi: quantile(vals, 1-alpha)}, nil
}

// quantile interpolates linearly between order statistics of sorted xs
// (NumPy's default method).
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return xs[lo] + (pos-float64(lo))*(xs[hi]-xs[lo])
}
