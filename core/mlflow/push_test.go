package mlflow

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

func TestPush(t *testing.T) {
	f := mlflowtest.NewServer(t)
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
	// What a tracker left for a server that never answered is in the run.
	os.WriteFile(r.Path(SpoolFile), []byte(`{"kind":"finish","status":"FINISHED"}`+"\n"), 0o600)
	info, err := Push(context.Background(), r.Dir(), c, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fr := f.OnlyRun(t)
	checkInOrder(t, fr.Steps("loss"), 1200)
	if fr.Params["lr"] != "0.1" || fr.Params["text:report"] != runs.Redacted || fr.Tags["seed"] != "3" || fr.Tags[TagRunName] != "child" {
		t.Errorf("params %v tags %v", fr.Params, fr.Tags)
	}
	if fr.Info.Status != StatusFinished {
		t.Errorf("status %s", fr.Info.Status)
	}
	prefix := "0/" + info.RunID + "/artifacts/"
	if info.ExperimentID != "" {
		prefix = info.ExperimentID + "/" + info.RunID + "/artifacts/"
	}
	for _, p := range []string{"report.html", "plots/loss.png", "model/config.json"} {
		if _, ok := f.Artifacts()[prefix+p]; !ok {
			t.Errorf("artifact %s missing; have %v", p, f.Artifacts())
		}
	}
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second push: %v", err)
	}
	if _, err := os.Stat(r.Path(StateFile)); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(r.Path(SpoolFile)); !os.IsNotExist(err) {
		t.Errorf("spool kept after the push: %v", err)
	}
}

// A run whose server went down midway is completed by Push from the spool
// its tracker left, into the same MLflow run, even across a failed Push.
func TestPushCompletesASpooledRun(t *testing.T) {
	f := mlflowtest.NewServer(t)
	c := testClient(t, f.URL, nil)
	r, err := runs.Create(t.TempDir(), "convirt", runs.Options{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	// The server answers until the first runs/log-batch (the run exists
	// by then), and dies right after it.
	var sawBatch atomic.Bool
	firstBatch := make(chan struct{})
	f.SetInject(func(q *http.Request) int {
		if sawBatch.Load() {
			return mlflowtest.Drop
		}
		if strings.HasSuffix(q.URL.Path, "runs/log-batch") && sawBatch.CompareAndSwap(false, true) {
			close(firstBatch)
		}
		return mlflowtest.Proceed
	})
	// The first batch goes out without waiting for more (FlushInterval).
	tr := startTracker(t, c, r.Dir(), func(o *TrackerOptions) { o.FlushTimeout, o.FlushInterval = 200*time.Millisecond, time.Nanosecond })
	tr.LogParams(map[string]string{"lr": "0.1"})
	for i := range 100 {
		tr.LogMetrics([]runs.Metric{{Key: "loss", Value: float64(i), Step: int64(i)}})
	}
	<-firstBatch
	for i := 100; i < 2600; i++ {
		tr.LogMetrics([]runs.Metric{{Key: "loss", Value: float64(i), Step: int64(i)}})
	}
	if err := tr.Finish(runs.Finished); err == nil {
		t.Fatal("Finish against a dead server reported no unsent operations")
	}
	r.Finish(runs.Finished)
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); err == nil {
		t.Fatal("Push against a dead server succeeded")
	}

	// The server comes back but fails again after one batch of the replay.
	var batches atomic.Int32
	f.SetInject(func(q *http.Request) int {
		if strings.HasSuffix(q.URL.Path, "runs/log-batch") && batches.Add(1) > 1 {
			return 503
		}
		return mlflowtest.Proceed
	})
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); !Transient(err) {
		t.Fatalf("Push with the server failing midway: %v", err)
	}
	if n := len(f.OnlyRun(t).Steps("loss")); n <= 100 || n >= 2600 {
		t.Fatalf("the failed replay sent %d values in all, want part of them", n)
	}
	f.SetInject(nil)
	info, err := Push(context.Background(), r.Dir(), c, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fr := f.OnlyRun(t)
	if info.RunID != fr.Info.RunID || fr.Info.Status != StatusFinished || fr.Params["lr"] != "0.1" {
		t.Errorf("pushed %+v; server run %+v params %v", info, fr.Info, fr.Params)
	}
	checkInOrder(t, fr.Steps("loss"), 2600)
	if spooled(r.Dir()) {
		t.Error("spool not emptied")
	}
	if _, err := Push(context.Background(), r.Dir(), c, PushOptions{}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("push after completion: %v", err)
	}
}
