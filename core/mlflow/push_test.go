package mlflow

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

func TestPush(t *testing.T) {
	f := newFake(t)
	c := testClient(t, f.URL, nil)
	root := t.TempDir()
	r, err := runs.Create(root, "sweep", runs.Options{Name: "child", ParentID: "p-1", Tags: map[string]string{"seed": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	r.LogParams(map[string]string{"lr": "0.1", runs.Text("report"): "Mild cardiomegaly."})
	for i := range 1200 {
		r.LogMetric("loss", float64(i), int64(i))
	}
	r.WriteFileAtomic("plots/loss.png", []byte("png"))
	r.WriteFileAtomic("artifacts/model/config.json", []byte("{}"))
	r.WriteFileAtomic("report.html", []byte("<html>"))
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); err == nil {
		t.Error("pushed a running run")
	}
	r.Finish(runs.Finished)
	info, err := Push(context.Background(), r.Dir(), c, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fr := f.onlyRun(t)
	checkInOrder(t, steps(t, fr, "loss"), 1200)
	if fr.params["lr"] != "0.1" || fr.params["text:report"] != runs.Redacted || fr.tags["seed"] != "3" || fr.tags[TagRunName] != "child" {
		t.Errorf("params %v tags %v", fr.params, fr.tags)
	}
	if fr.info.Status != StatusFinished {
		t.Errorf("status %s", fr.info.Status)
	}
	prefix := "0/" + info.RunID + "/artifacts/"
	if info.ExperimentID != "" {
		prefix = info.ExperimentID + "/" + info.RunID + "/artifacts/"
	}
	for _, p := range []string{"report.html", "plots/loss.png", "model/config.json"} {
		if _, ok := f.artifacts[prefix+p]; !ok {
			t.Errorf("artifact %s missing; have %v", p, f.artifacts)
		}
	}
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second push: %v", err)
	}
	if _, err := os.Stat(r.Path(StateFile)); err != nil {
		t.Error(err)
	}
}
