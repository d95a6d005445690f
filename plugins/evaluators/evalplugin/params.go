// Package evalplugin serves the evaluation libraries (linear, retrieval,
// zeroshot, finetune, metrics) as the built-in evaluator plugins "linear",
// "retrieval", "zeroshot" and "finetune". The host extracts features with the encoder
// plugins and sends them here in an sdk.EvalRequest; each plugin checks the
// request, runs its protocol and returns scores aggregated over seeds with
// bootstrap intervals, per-probe predictions and ROC curves. The contract
// (splits, params, results and config keys) is docs/evaluators.md.
package evalplugin

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/evaluators/metrics"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Version is the version of the built-in evaluator plugins.
const Version = "0.1.0"

// BootConfig is the bootstrap part of every built-in's config.
type BootConfig struct {
	// Bootstrap is the number of bootstrap resamples (>= 10).
	Bootstrap int `json:"bootstrap" min:"10" doc:"number of bootstrap resamples of the test examples (or queries) for the 95% interval"`
	// BootstrapSeed seeds the resampling, so intervals are repeatable.
	BootstrapSeed uint64 `json:"bootstrap_seed" min:"0" doc:"seed of the bootstrap resampling (the same seed gives the same interval)"`
}

// defaultBoot is the default bootstrap config.
func defaultBoot() BootConfig { return BootConfig{Bootstrap: 1000} }

// metricsConfig is the bootstrap as metrics.Bootstrap takes it.
func (b BootConfig) metricsConfig() metrics.BootstrapConfig {
	return metrics.BootstrapConfig{Resamples: b.Bootstrap, Level: 0.95, Seed: b.BootstrapSeed}
}

// checkConfig checks a config's ranges against its tags (schema.Validate),
// the same rules the host checks a recipe's config with.
func checkConfig(cfg any) error {
	if err := schema.Validate(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// params reads the protocol parameters of a request.
type params struct {
	m map[string]any
}

// checkKeys rejects parameters other than known.
func (p params) checkKeys(known ...string) error {
	var bad []string
	for k := range p.m {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("params: unknown %s (known: %s)", quoteAll(bad), quoteAll(known))
}

// task reads the required "task" parameter.
func (p params) task() (linear.Task, error) {
	v, ok := p.m["task"]
	if !ok {
		return "", fmt.Errorf(`params: "task" is required (binary, multilabel or multiclass)`)
	}
	s, _ := v.(string)
	switch t := linear.Task(s); t {
	case linear.Binary, linear.MultiLabel, linear.MultiClass:
		return t, nil
	}
	return "", fmt.Errorf(`params: "task" must be "binary", "multilabel" or "multiclass", got %v`, describe(v))
}

// fraction reads the required "fraction" parameter, in (0, 1].
func (p params) fraction() (float64, error) {
	v, ok := p.m["fraction"]
	if !ok {
		return 0, fmt.Errorf(`params: "fraction" is required (the fraction of training labels, in (0, 1])`)
	}
	f, ok := schema.Number(v)
	if !ok || !(f > 0 && f <= 1) {
		return 0, fmt.Errorf(`params: "fraction" must be a number in (0, 1], got %v`, describe(v))
	}
	return f, nil
}

// ints reads the list of integers key; def is returned when it is absent
// (an error when def is nil). Every value must lie in [lo, hi] and appear
// once.
func (p params) ints(key string, def []int64, lo, hi int64) ([]int64, error) {
	v, ok := p.m[key]
	if !ok {
		if def == nil {
			return nil, fmt.Errorf("params: %q is required (a list of integers)", key)
		}
		return def, nil
	}
	var raw []any
	switch l := v.(type) {
	case []any:
		raw = l
	case []int:
		raw = anys(l)
	case []int64:
		raw = anys(l)
	case []uint64:
		raw = anys(l)
	case []float64:
		raw = anys(l)
	default:
		return nil, fmt.Errorf("params: %q must be a list of integers, got %v", key, describe(v))
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("params: %q is an empty list", key)
	}
	out := make([]int64, len(raw))
	seen := map[int64]bool{}
	for i, e := range raw {
		f, ok := schema.Number(e)
		if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			rng := fmt.Sprintf("in [%d, %d]", lo, hi)
			if hi >= 1<<53 {
				rng = fmt.Sprintf(">= %d", lo)
			}
			return nil, fmt.Errorf("params: %q[%d] must be an integer %s, got %v", key, i, rng, describe(e))
		}
		out[i] = int64(f)
		if seen[out[i]] {
			return nil, fmt.Errorf("params: %q lists %d twice", key, out[i])
		}
		seen[out[i]] = true
	}
	return out, nil
}

// checkProtocol rejects a request for another protocol than want.
func checkProtocol(got, want string) error {
	if got != want {
		return fmt.Errorf("protocol %q is not implemented: this evaluator implements protocol %q only", got, want)
	}
	return nil
}

// errGrad is the answer of Grad: these evaluators do not fine-tune.
func errGrad(protocol string) error {
	return fmt.Errorf("Grad is not supported by protocol %s: it evaluates frozen features (fine-tuning is a separate evaluator)", protocol)
}

// guard turns a panic in fn into an error, so no input crashes the plugin.
func guard(plugin string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluator %q: internal error: %v", plugin, r)
		}
	}()
	return fn()
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// describe prints a parameter value with its type, for error messages.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v (%s)", v, schema.TypeOf(v))
}

// anys is l as a []any.
func anys[T any](l []T) []any {
	out := make([]any, len(l))
	for i, x := range l {
		out[i] = x
	}
	return out
}
