package runs

import (
	"maps"
	"slices"
	"strings"
)

// Comparison is what `convirt runs compare` sets side by side: each run's
// params and final metrics, and the union of their keys, sorted.
type Comparison struct {
	Runs       []Meta
	Params     []map[string]string // per run, in the order of Runs
	Finals     []map[string]Metric // per run: the last value of each metric
	ParamKeys  []string
	MetricKeys []string
}

// Compare reads the params and final metrics of the runs ms.
func Compare(ms []Meta) (*Comparison, error) {
	c := &Comparison{Runs: ms, Params: make([]map[string]string, len(ms)), Finals: make([]map[string]Metric, len(ms))}
	pkeys, mkeys := map[string]bool{}, map[string]bool{}
	for i, m := range ms {
		r, err := Open(m.Dir)
		if err != nil {
			return nil, err
		}
		metrics, err := ReadMetrics(m.Dir)
		if err != nil {
			return nil, err
		}
		c.Params[i], c.Finals[i] = r.Params(), Final(metrics)
		for k := range c.Params[i] {
			pkeys[k] = true
		}
		for k := range c.Finals[i] {
			mkeys[k] = true
		}
	}
	c.ParamKeys, c.MetricKeys = slices.Sorted(maps.Keys(pkeys)), slices.Sorted(maps.Keys(mkeys))
	return c, nil
}

// ParamDiffers reports whether param k differs between the runs: some run
// lacks it, or has another value than the first run's.
func (c *Comparison) ParamDiffers(k string) bool {
	first, ok0 := c.Params[0][k]
	for _, p := range c.Params {
		if v, ok := p[k]; !ok || !ok0 || v != first {
			return true
		}
	}
	return false
}

// KeyMetrics orders the keys of final metrics by how much they say about a
// run, for a listing that shows only the first few: evaluation metrics
// (auc, acc, precision, f1) before losses before the rest, each group by
// name.
func KeyMetrics(final map[string]Metric) []string {
	rank := func(k string) int {
		for i, w := range []string{"auc", "acc", "precision", "f1", "loss"} {
			if strings.Contains(strings.ToLower(k), w) {
				return i
			}
		}
		return 9
	}
	keys := slices.Sorted(maps.Keys(final))
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	return keys
}
