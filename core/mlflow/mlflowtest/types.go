// Package mlflowtest is a fake MLflow tracking server for tests: it serves
// the REST endpoints core/mlflow uses (experiments/get-by-name,
// experiments/create, runs/create, runs/log-batch, runs/update,
// runs/set-tag and the mlflow-artifacts proxy), with MLflow's status codes,
// JSON shapes, error JSON and batch limits, and records what it was sent.
// Failures can be injected to imitate a server that is down or flaky.
//
// It does not import core/mlflow, so that package's own tests can use it;
// the JSON objects it shares with the client are declared once, in
// core/mlflow/internal/wire.
package mlflowtest

import (
	"sort"

	"github.com/convirt/convirt/core/mlflow/internal/wire"
)

// Values an inject hook (Server.SetInject) returns besides an HTTP status.
const (
	Proceed = 0  // answer the request normally
	Drop    = -1 // drop the connection without an answer
)

// The MLflow REST objects the fake reads and stores, declared once in
// core/mlflow/internal/wire for the client and the fake alike.
type (
	// RunInfo is MLflow's RunInfo object as the fake stores it.
	RunInfo = wire.RunInfo
	// Metric is one logged metric value. Value accepts the protobuf JSON
	// spellings of NaN and the infinities ("NaN", "Infinity", "-Infinity").
	Metric = wire.Metric
	// KV is a param or a tag.
	KV = wire.KV
)

// Run is a snapshot of one run on the server: its info, its metric values
// in the order they arrived, its params and its tags.
type Run struct {
	Info    RunInfo
	Metrics []Metric
	Params  map[string]string
	Tags    map[string]string
}

// Steps returns the steps of the values of metric key, in arrival order.
func (r Run) Steps(key string) []int64 {
	return metricField(r.Metrics, key, func(m Metric) int64 { return m.Step })
}

// Values returns the values of metric key, in arrival order.
func (r Run) Values(key string) []float64 {
	return metricField(r.Metrics, key, func(m Metric) float64 { return m.Value })
}

// metricField returns field of each value of metric key, in arrival order.
func metricField[T any](ms []Metric, key string, field func(Metric) T) []T {
	var out []T
	for _, m := range ms {
		if m.Key == key {
			out = append(out, field(m))
		}
	}
	return out
}

// MetricKeys returns the distinct metric keys, sorted.
func (r Run) MetricKeys() []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range r.Metrics {
		if !seen[m.Key] {
			seen[m.Key] = true
			keys = append(keys, m.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

func (r *Run) clone() Run {
	c := Run{Info: r.Info, Metrics: append([]Metric(nil), r.Metrics...),
		Params: make(map[string]string, len(r.Params)), Tags: make(map[string]string, len(r.Tags))}
	for k, v := range r.Params {
		c.Params[k] = v
	}
	for k, v := range r.Tags {
		c.Tags[k] = v
	}
	return c
}
