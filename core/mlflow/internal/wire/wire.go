// Package wire declares, once, the MLflow REST objects that both the client
// (core/mlflow) and the fake tracking server (core/mlflow/mlflowtest) read
// and write. It is separate from core/mlflow so that the fake need not
// import the client it tests, and internal so that only those two see it:
// each re-exports the types under its own names.
package wire

import (
	"encoding/json"

	"github.com/convirt/convirt/core/runs"
)

// Limits of one runs/log-batch request and of keys and values, from
// MLflow's REST API documentation, as a server enforces them (a newer
// server's param value limit; the client keeps to what every server
// accepts, core/mlflow.MaxParamValueLength).
const (
	MaxMetricsPerBatch  = 1000
	MaxParamsPerBatch   = 100
	MaxTagsPerBatch     = 100
	MaxEntitiesPerBatch = 1000
	MaxKeyLength        = 250
	MaxParamValueLength = 6000
	MaxTagValueLength   = 5000
)

// Experiment is MLflow's experiment object (the fields used here).
type Experiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
}

// RunInfo is MLflow's RunInfo object.
type RunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid,omitempty"`
	RunName        string `json:"run_name,omitempty"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id,omitempty"`
	Status         string `json:"status,omitempty"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri,omitempty"`
	LifecycleStage string `json:"lifecycle_stage,omitempty"`
}

// Metric is one metric value as MLflow's JSON has it (timestamp in ms).
// Its value is written and read in the protobuf JSON spellings of NaN and
// the infinities ("NaN", "Infinity", "-Infinity").
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64
	Step      int64
}

// metricJSON is Metric as it is on the wire.
type metricJSON struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp int64           `json:"timestamp"`
	Step      int64           `json:"step"`
}

// MarshalJSON writes NaN and infinities as protobuf JSON strings.
func (m Metric) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricJSON{m.Key, runs.FormatFloat(m.Value), m.Timestamp, m.Step})
}

// UnmarshalJSON reads what MarshalJSON writes, numbers and strings alike.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j metricJSON
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
