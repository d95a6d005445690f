package experiment

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// mlflow starts the MLflow tracker when the recipe or the environment names
// a server.
func (s *session) mlflow() (runs.Tracker, error) {
	t, err := startMLflow(s.r, s.run, s.log)
	if t == nil || err != nil {
		return nil, err
	}
	return t, nil
}

// startMLflow starts MLflow tracking of run, or returns nil when neither
// the recipe nor MLFLOW_TRACKING_URI names a server. Tracker warnings go to
// logw.
func startMLflow(r *recipe.Recipe, run *runs.Run, logw io.Writer) (*mlflow.Tracker, error) {
	cfg := mlflow.ConfigFromEnv()
	if r.Tracking.MLflow.URI != "" {
		cfg.URI = r.Tracking.MLflow.URI
	}
	if cfg.URI == "" {
		return nil, nil
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := mlflow.New(cfg)
	if err != nil {
		return nil, err
	}
	exp := r.Tracking.MLflow.Experiment
	if exp == "" {
		exp = r.Experiment
	}
	m := run.Meta()
	opts := mlflow.OptionsFor(run)
	opts.Experiment, opts.AllowText = exp, r.Tracking.LogText
	if m.ParentID != "" {
		if pm, err := runs.Find(r.Output, m.ParentID); err == nil {
			opts.ParentRunID = mlflow.RunIDOf(pm.Dir)
		}
	}
	return mlflow.Start(c, opts)
}

// TrackSweep starts MLflow tracking of a sweep's parent run (nil when no
// server is configured), logs the recipe as its params, and waits a little
// for the server to create the run, so that the children, started next, can
// name it as their mlflow.parentRunId.
func TrackSweep(ctx context.Context, r *recipe.Recipe, parent *runs.Run, logw io.Writer) (runs.Tracker, error) {
	t, err := startMLflow(r, parent, logw)
	if t == nil || err != nil {
		return nil, err
	}
	if err := t.LogParams(flatten("", r.Tree())); err != nil {
		return t, err
	}
	t.WaitRunID(ctx, 15*time.Second)
	return t, nil
}

// flatten turns a recipe tree into params: "train.lr" -> "0.0001". Lists
// are written as their YAML-ish text.
func flatten(prefix string, v any) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			maps.Copy(out, flatten(schema.JoinPath(prefix, k), sub))
		}
	default:
		if prefix != "" {
			out[prefix] = strings.TrimSpace(fmt.Sprint(schema.Normalize(v)))
		}
	}
	return out
}
