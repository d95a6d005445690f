package mlflow

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

// A run tracked live (the local run and a Tracker from OptionsFor, sending
// runs.Uploads at the end, as core/experiment does) and the same run
// directory pushed afterwards reach MLflow alike: same artifacts, bytes,
// tags (provenance and reserved ones), params and metrics.
func TestLiveAndPushedRunsAgree(t *testing.T) {
	live, pushed := mlflowtest.NewServer(t), mlflowtest.NewServer(t)
	r, err := runs.Create(t.TempDir(), "exp", runs.Options{Name: "n", Tags: map[string]string{"seed": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsFor(r)
	o.Experiment, o.RetryMin, o.FlushTimeout = "exp", time.Millisecond, 5*time.Second
	tr, err := Start(testClient(t, live.URL, nil), o)
	if err != nil {
		t.Fatal(err)
	}
	m := runs.Multi{r, tr}
	m.LogParams(map[string]string{"lr": "0.1", runs.Text("report"): "Mild cardiomegaly."})
	m.LogMetrics([]runs.Metric{{Key: "loss", Value: 2, Step: 0}, {Key: "loss", Value: 1, Step: 1}})
	for name, content := range map[string]string{runs.ReportFile: "<html>", runs.ResultsFile: "{}", runs.TablesFile: "| a |",
		runs.ResolvedFile: "name: n\n", "plots/loss.png": "png", "artifacts/model/config.json": "{}"} {
		if err := r.WriteFileAtomic(name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	m.SetTags(map[string]string{"plugin.linear": "1.0.0"})
	ups, err := runs.Uploads(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		tr.LogArtifact(u.Name, u.Path)
	}
	if err := m.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), r.Dir(), testClient(t, pushed.URL, nil), PushOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	lr, pr := live.OnlyRun(t), pushed.OnlyRun(t)
	la, pa := live.RunArtifacts(lr.Info.RunID), pushed.RunArtifacts(pr.Info.RunID)
	if ln, pn := slices.Sorted(maps.Keys(la)), slices.Sorted(maps.Keys(pa)); !slices.Equal(ln, pn) || len(ln) != 6 {
		t.Errorf("artifacts:\nlive   %q\npushed %q", ln, pn)
	}
	if !maps.EqualFunc(la, pa, bytes.Equal) {
		t.Error("artifact contents differ")
	}
	if !maps.Equal(lr.Tags, pr.Tags) {
		t.Errorf("tags differ:\nlive   %v\npushed %v", lr.Tags, pr.Tags)
	}
	for _, k := range []string{runs.TagConvirtVersion, TagLocalRunID, TagRunName, TagUser, "seed", "plugin.linear"} {
		if pr.Tags[k] == "" {
			t.Errorf("no tag %s: %v", k, pr.Tags)
		}
	}
	if !maps.Equal(lr.Params, pr.Params) || pr.Params["text:report"] != runs.Redacted {
		t.Errorf("params:\nlive   %v\npushed %v", lr.Params, pr.Params)
	}
	if !slices.Equal(lr.Values("loss"), pr.Values("loss")) || lr.Info.Status != pr.Info.Status {
		t.Errorf("live %v %s, pushed %v %s", lr.Values("loss"), lr.Info.Status, pr.Values("loss"), pr.Info.Status)
	}
}
