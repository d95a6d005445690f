package mlflow

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/convirt/convirt/core/mlflow/internal/wire"
	"github.com/convirt/convirt/core/runs"
)

// Run states as MLflow spells them.
const (
	StatusRunning  = "RUNNING"
	StatusFinished = "FINISHED"
	StatusFailed   = "FAILED"
	StatusKilled   = "KILLED"
)

// Reserved tags MLflow's UI understands. TagGitCommit is the project's
// commit (the checkout the run was started in, runs.Env.GitCommit), as for
// an MLflow project; convirt's own revision is the tag runs.TagConvirtRevision.
const (
	TagRunName   = "mlflow.runName"
	TagUser      = "mlflow.user"
	TagGitCommit = "mlflow.source.git.commit"
	TagParentRun = "mlflow.parentRunId"
)

// TagLocalRunID names the local run (its runs.Meta.ID) an MLflow run records.
const TagLocalRunID = "convirt.run_id"

// reserved are the values of the tags MLflow's UI reads and of
// TagLocalRunID; "" leaves a tag out.
type reserved struct {
	name, user, gitCommit, localID, parent string
}

// runTags are the tags an MLflow run is created with, by a live Tracker and
// by Push alike: the local run's tags (text redacted unless allowText) and
// the reserved ones.
func runTags(local map[string]string, allowText bool, r reserved) map[string]string {
	tags := runs.RedactText(local, allowText)
	if tags == nil {
		tags = map[string]string{}
	}
	for k, v := range map[string]string{TagRunName: r.name, TagUser: r.user, TagGitCommit: r.gitCommit,
		TagLocalRunID: r.localID, TagParentRun: r.parent} {
		if v != "" {
			tags[k] = v
		}
	}
	return tags
}

// StatusOf maps a local run status to MLflow's.
func StatusOf(s runs.Status) string {
	switch s {
	case runs.Finished:
		return StatusFinished
	case runs.Failed:
		return StatusFailed
	case runs.Killed:
		return StatusKilled
	}
	return StatusRunning
}

// The MLflow REST objects, declared once in internal/wire for this client
// and the fake server in mlflowtest alike.
type (
	// Experiment is MLflow's experiment object (the fields used here).
	Experiment = wire.Experiment
	// RunInfo is MLflow's RunInfo object.
	RunInfo = wire.RunInfo
	// Metric is one metric value as MLflow's JSON has it (timestamp in
	// ms); NaN and the infinities travel as protobuf JSON strings.
	Metric = wire.Metric
	// KV is a param or a tag.
	KV = wire.KV
)

// FromRunMetric converts a local metric.
func FromRunMetric(m runs.Metric) Metric {
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	return Metric{Key: m.Key, Value: m.Value, Timestamp: t.UnixMilli(), Step: m.Step}
}

// GetExperimentByName returns the experiment named name; a missing one is
// an APIError with code RESOURCE_DOES_NOT_EXIST.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (Experiment, error) {
	var out struct {
		Experiment Experiment `json:"experiment"`
	}
	err := c.call(ctx, request{method: "GET", endpoint: "mlflow/experiments/get-by-name",
		query: url.Values{"experiment_name": {name}}, out: &out})
	return out.Experiment, err
}

// CreateExperiment creates an experiment and returns its id.
func (c *Client) CreateExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	err := c.call(ctx, request{method: "POST", endpoint: "mlflow/experiments/create",
		body: map[string]string{"name": name}, out: &out})
	return out.ExperimentID, err
}

// EnsureExperiment returns the id of the experiment named name, creating
// it when missing (tolerating a concurrent creator).
func (c *Client) EnsureExperiment(ctx context.Context, name string) (string, error) {
	e, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return e.ExperimentID, nil
	}
	if !IsCode(err, "RESOURCE_DOES_NOT_EXIST") {
		return "", err
	}
	id, err := c.CreateExperiment(ctx, name)
	if IsCode(err, "RESOURCE_ALREADY_EXISTS") {
		e, err = c.GetExperimentByName(ctx, name)
		id = e.ExperimentID
	}
	return id, err
}

// CreateRun starts a run in an experiment. Tags are truncated to the limits.
func (c *Client) CreateRun(ctx context.Context, experimentID, runName string, start time.Time, tags []KV) (RunInfo, error) {
	var out struct {
		Run struct {
			Info RunInfo `json:"info"`
		} `json:"run"`
	}
	body := map[string]any{
		"experiment_id": experimentID,
		"start_time":    start.UnixMilli(),
		"tags":          c.fitTags(tags),
	}
	if runName != "" {
		body["run_name"] = runName
	}
	err := c.call(ctx, request{method: "POST", endpoint: "mlflow/runs/create", body: body, out: &out})
	info := out.Run.Info
	if info.RunID == "" {
		info.RunID = info.RunUUID
	}
	return info, err
}

// UpdateRun sets a run's status and end time (zero: unset).
func (c *Client) UpdateRun(ctx context.Context, runID, status string, end time.Time) error {
	body := map[string]any{"run_id": runID, "run_uuid": runID, "status": status}
	if !end.IsZero() {
		body["end_time"] = end.UnixMilli()
	}
	return c.call(ctx, request{method: "POST", endpoint: "mlflow/runs/update", body: body})
}

// SetTag sets one tag on a run.
func (c *Client) SetTag(ctx context.Context, runID, key, value string) error {
	t := c.fitTags([]KV{{Key: key, Value: value}})[0]
	return c.call(ctx, request{method: "POST", endpoint: "mlflow/runs/set-tag",
		body: map[string]string{"run_id": runID, "run_uuid": runID, "key": t.Key, "value": t.Value}})
}

// LogBatch logs metrics, params and tags, split into as many
// runs/log-batch calls as the server's limits require, after truncating
// keys and values. It stops at the first failing call.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []Metric, params, tags []KV) error {
	for _, b := range Split(c.fitMetrics(metrics), c.fitParams(params), c.fitTags(tags)) {
		if err := c.logBatch(ctx, runID, b); err != nil {
			return err
		}
	}
	return nil
}

// logBatch sends one batch that is already within the limits.
func (c *Client) logBatch(ctx context.Context, runID string, b Batch) error {
	body := map[string]any{"run_id": runID, "metrics": b.Metrics, "params": b.Params, "tags": b.Tags}
	if err := c.call(ctx, request{method: "POST", endpoint: "mlflow/runs/log-batch", body: body}); err != nil {
		return fmt.Errorf("run %s: %w", runID, err)
	}
	return nil
}

// UploadArtifact uploads the local file src to relPath under the run's
// artifact root through the server's artifact proxy
// (/api/2.0/mlflow-artifacts/artifacts/...). artifactURI is the run's
// RunInfo.ArtifactURI; it must be an mlflow-artifacts: URI (a server started
// with artifact serving, MLflow's default).
func (c *Client) UploadArtifact(ctx context.Context, artifactURI, relPath, src string) error {
	root, err := artifactRoot(artifactURI)
	if err != nil {
		return err
	}
	rel := path.Clean("/" + strings.ReplaceAll(relPath, "\\", "/"))
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("mlflow artifact %s: %w", relPath, err)
	}
	return c.call(ctx, request{method: "PUT", endpoint: "mlflow-artifacts/artifacts/" + root + rel,
		raw: func() (io.ReadCloser, int64, error) { return openSized(src) }})
}

// openSized opens src for an upload and returns its size at that instant.
// The body sent is exactly that many bytes, so the Content-Length stays
// true if the file grows meanwhile (a file replaced by rename keeps the
// opened content); a file cut shorter fails the upload.
func openSized(src string) (io.ReadCloser, int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", src)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, st.Size()), f}, st.Size(), nil
}

// artifactRoot turns "mlflow-artifacts:/1/abc/artifacts" (or the
// "mlflow-artifacts://host/1/abc/artifacts" form) into "1/abc/artifacts".
func artifactRoot(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mlflow-artifacts" {
		return "", fmt.Errorf("mlflow: artifact root %q is not served by the tracking server (start it with artifact serving) ", uri)
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		p = strings.Trim(u.Opaque, "/")
	}
	return p, nil
}
