// Package mlflowtest is a fake MLflow tracking server for tests: it serves
// the REST endpoints core/mlflow uses (experiments/get-by-name,
// experiments/create, runs/create, runs/log-batch, runs/update,
// runs/set-tag and the mlflow-artifacts proxy), with MLflow's status codes,
// JSON shapes, error JSON and batch limits, and records what it was sent.
// Failures can be injected to imitate a server that is down or flaky.
//
// It does not import core/mlflow, so that package's own tests can use it;
// it has its own small JSON types for what the server stores.
package mlflowtest

import (
	"encoding/json"
	"sort"

	"github.com/convirt/convirt/core/runs"
)

// Limits the fake enforces on runs/log-batch, as MLflow's REST API
// documents them (a newer server's param value limit).
const (
	MaxMetricsPerBatch  = 1000
	MaxParamsPerBatch   = 100
	MaxTagsPerBatch     = 100
	MaxEntitiesPerBatch = 1000
	MaxKeyLength        = 250
	MaxParamValueLength = 6000
)

// Values an inject hook (Server.SetInject) returns besides an HTTP status.
const (
	Proceed = 0  // answer the request normally
	Drop    = -1 // drop the connection without an answer
)

// RunInfo is MLflow's RunInfo object as the fake stores it.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid,omitempty"`
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	Status         string `json:"status,omitempty"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage,omitempty"`
}

// Metric is one logged metric value. Value accepts the protobuf JSON
// spellings of NaN and the infinities ("NaN", "Infinity", "-Infinity").
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64
	Step      int64
}

// UnmarshalJSON reads MLflow's metric JSON.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j struct {
		Key       string          `json:"key"`
		Value     json.RawMessage `json:"value"`
		Timestamp int64           `json:"timestamp"`
		Step      int64           `json:"step"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := runs.ParseFloat(j.Value)
	if err != nil {
		return err
	}
	*m = Metric{j.Key, v, j.Timestamp, j.Step}
	return nil
}

// KV is a param or a tag.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

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
	var s []int64
	for _, m := range r.Metrics {
		if m.Key == key {
			s = append(s, m.Step)
		}
	}
	return s
}

// Values returns the values of metric key, in arrival order.
func (r Run) Values(key string) []float64 {
	var v []float64
	for _, m := range r.Metrics {
		if m.Key == key {
			v = append(v, m.Value)
		}
	}
	return v
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
