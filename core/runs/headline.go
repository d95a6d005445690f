package runs

import (
	"math"
	"strconv"
	"strings"
)

// Metric keys and their parts that the listings read. An evaluation
// metric is "eval/<evaluation>/<protocol>/<init>/f<fraction>/<score>"
// (core/experiment writes them), e.g.
// "eval/chexpert-linear/linear/convirt/f0.01/auc"; a score with a ':' is
// one label's ("auc:Edema"), one without is the mean over labels.
const (
	TrainLossKey = "train/loss"
	ValLossKey   = "val/loss"
	EvalPrefix   = "eval/"
	// PretrainedInit is the init of the evaluations that use the run's own
	// pretrained encoders; the other inits (random, imagenet) are baselines
	// that do not depend on the pretraining.
	PretrainedInit = "convirt"
)

// headlineScores are the scores an evaluation is judged by, as they appear
// in metric keys: the mean AUC (linear and fine-tuning probes), accuracy
// (zero-shot) and precision at 10 (retrieval, "p@10"). Per-label scores,
// the other precisions, chance levels and counts (test_examples, queries,
// probe_l2:...) are details.
var headlineScores = map[string]bool{"auc": true, "accuracy": true, "p_at_10": true}

// Headline returns the keys, among keys, that say how a run did, in the
// order of keys: the pretraining's loss (val/loss, or train/loss when
// there was no validation) and each evaluation's headline score.
func Headline(keys []string) []string {
	var out []string
	has := map[string]bool{}
	for _, k := range keys {
		has[k] = true
	}
	switch {
	case has[ValLossKey]:
		out = append(out, ValLossKey)
	case has[TrainLossKey]:
		out = append(out, TrainLossKey)
	}
	for _, k := range keys {
		if _, ok := evalScore(k); ok {
			out = append(out, k)
		}
	}
	return out
}

// evalScore returns the init of the evaluation metric k when its score is
// a headline score.
func evalScore(k string) (init string, ok bool) {
	rest, ok := strings.CutPrefix(k, EvalPrefix)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || !headlineScores[parts[4]] {
		return "", false
	}
	return parts[2], true
}

// PretrainedHeadline is Headline without the baseline inits' scores when
// the pretrained init has any: the columns that tell runs of one recipe
// apart, for `runs list`.
func PretrainedHeadline(keys []string) []string {
	all := Headline(keys)
	pretrained := false
	for _, k := range all {
		if init, ok := evalScore(k); ok && init == PretrainedInit {
			pretrained = true
		}
	}
	if !pretrained {
		return all
	}
	var out []string
	for _, k := range all {
		if init, ok := evalScore(k); !ok || init == PretrainedInit {
			out = append(out, k)
		}
	}
	return out
}

// ShortNames returns column headers for names split at sep ('/' for
// metrics, '.' for params): parts are left out from the left, the same
// part position of every name at once, as long as every header stays
// distinct and keeps at least minParts parts (or all it has).
// "eval/chexpert-linear/linear/convirt/f0.01/auc" beside other linear
// fractions becomes "f0.01/auc"; "loss.config.tau" beside
// "train.batch_size" becomes "tau".
func ShortNames(names []string, sep string, minParts int) []string {
	parts := make([][]string, len(names))
	keep := make([][]bool, len(names))
	longest := 0
	for i, n := range names {
		parts[i] = strings.Split(n, sep)
		keep[i] = make([]bool, len(parts[i]))
		for j := range keep[i] {
			keep[i][j] = true
		}
		longest = max(longest, len(parts[i]))
	}
	header := func(i int) string {
		var s []string
		for j, p := range parts[i] {
			if keep[i][j] {
				s = append(s, p)
			}
		}
		return strings.Join(s, sep)
	}
	distinct := func() bool {
		seen := map[string]bool{}
		for i := range names {
			h := header(i)
			if seen[h] {
				return false
			}
			seen[h] = true
		}
		return true
	}
	kept := make([]int, len(names))
	for i := range names {
		kept[i] = len(parts[i])
	}
	for j := 0; j < longest-1; j++ {
		var dropped []int
		for i := range names {
			if j < len(parts[i])-1 && kept[i] > minParts {
				keep[i][j] = false
				kept[i]--
				dropped = append(dropped, i)
			}
		}
		if !distinct() {
			for _, i := range dropped {
				keep[i][j] = true
				kept[i]++
			}
		}
	}
	out := make([]string, len(names))
	for i := range names {
		out[i] = header(i)
	}
	return out
}

// FormatValue writes a metric value for a table: whole numbers (counts)
// as integers, others with 4 significant digits.
func FormatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e12 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// FormatDelta writes b-a with its sign, "=" when equal.
func FormatDelta(a, b float64) string {
	d := b - a
	switch {
	case d == 0:
		return "="
	case d > 0:
		return "+" + strconv.FormatFloat(d, 'g', 3, 64)
	}
	return strconv.FormatFloat(d, 'g', 3, 64)
}
