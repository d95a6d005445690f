package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// PushOptions configure Push.
type PushOptions struct {
	Experiment string // MLflow experiment; default: the local run's experiment
	AllowText  bool   // send params/tags marked as patient text verbatim
	Force      bool   // push again although the directory records an MLflow run
}

// Push uploads a finished local run directory to MLflow as a new run with
// everything a live run sends: params, tags (the provenance tags among
// them, with the reserved mlflow.* tags filled from meta.json, see
// runTags), every metric value, the files of runs.Uploads (report.html,
// results.json, tables.md, resolved.yaml, plots/ and artifacts/), and the
// final status. The new run's id is recorded in runDir/mlflow.json,
// and the spool a Tracker may have left is removed (its content is in the
// new run). A directory that already records an MLflow run is refused
// unless opts.Force is set (a copy is pushed), or unless a Tracker left
// operations in its spool: those are then sent to that run, completing it.
func Push(ctx context.Context, runDir string, c *Client, opts PushOptions) (RunInfo, error) {
	r, err := runs.Open(runDir)
	if err != nil {
		return RunInfo{}, err
	}
	meta := r.Meta()
	if meta.Status == runs.Running {
		return RunInfo{}, fmt.Errorf("push %s: run is still running (or its process died; finish it first)", runDir)
	}
	if id := RunIDOf(runDir); id != "" && !opts.Force {
		if spooled(runDir) {
			return replaySpool(ctx, c, runDir)
		}
		return RunInfo{}, fmt.Errorf("push %s: already recorded as MLflow run %s (use force to push a copy)", runDir, id)
	}
	metrics, err := runs.ReadMetrics(runDir)
	if err != nil {
		return RunInfo{}, err
	}
	exp := opts.Experiment
	if exp == "" {
		exp = meta.Experiment
	}
	expID, err := c.EnsureExperiment(ctx, exp)
	if err != nil {
		return RunInfo{}, fmt.Errorf("push %s: %w", runDir, err)
	}
	parent := ""
	if meta.ParentID != "" {
		parent = RunIDOf(filepath.Join(filepath.Dir(runDir), meta.ParentID))
	}
	tags := runTags(r.Tags(), opts.AllowText, reserved{name: meta.Name, user: meta.Env.User,
		gitCommit: meta.Env.GitCommit, localID: meta.ID, parent: parent})
	info, err := c.CreateRun(ctx, expID, meta.Name, meta.StartTime, sortedKV(tags))
	if err != nil {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	ms := make([]Metric, len(metrics))
	for i, m := range metrics {
		ms[i] = FromRunMetric(m)
	}
	params := runs.RedactText(r.Params(), opts.AllowText)
	if err := c.LogBatch(ctx, info.RunID, ms, sortedKV(params), nil); err != nil {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	if err := uploadTree(ctx, c, info.ArtifactURI, runDir); err != nil {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	if err := c.UpdateRun(ctx, info.RunID, StatusOf(meta.Status), meta.EndTime); err != nil {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	st := state{RunID: info.RunID, ExperimentID: expID, ArtifactURI: info.ArtifactURI, TrackingURI: c.URI()}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := atomicfile.Write(filepath.Join(runDir, StateFile), append(b, '\n'), 0o644); err != nil {
		return info, err
	}
	if err := os.Remove(filepath.Join(runDir, SpoolFile)); err != nil && !os.IsNotExist(err) {
		return info, fmt.Errorf("push %s: %w", runDir, err)
	}
	return info, nil
}

// uploadTree uploads the run's files, the same list a live run sends
// (runs.Uploads).
func uploadTree(ctx context.Context, c *Client, artifactURI, runDir string) error {
	ups, err := runs.Uploads(runDir)
	if err != nil {
		return err
	}
	for _, u := range ups {
		if err := c.UploadArtifact(ctx, artifactURI, u.Name, u.Path); err != nil {
			return err
		}
	}
	return nil
}
