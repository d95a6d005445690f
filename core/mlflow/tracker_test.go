package mlflow

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

func startTracker(t *testing.T, c *Client, dir string, mod func(*TrackerOptions)) *Tracker {
	t.Helper()
	o := TrackerOptions{Experiment: "convirt", RunName: "demo", User: "alice", GitCommit: "abc123", ParentRunID: "parent1",
		Dir: dir, RetryMin: 2 * time.Millisecond, RetryMax: 20 * time.Millisecond, FlushTimeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	tr, err := Start(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func checkInOrder(t *testing.T, s []int64, n int) {
	t.Helper()
	if len(s) != n {
		t.Fatalf("server has %d values, want %d", len(s), n)
	}
	for i, v := range s {
		if v != int64(i) {
			t.Fatalf("value %d has step %d: out of order or duplicated", i, v)
		}
	}
}

func TestTrackerRecordsRun(t *testing.T) {
	f := mlflowtest.NewServer(t)
	dir := t.TempDir()
	tr := startTracker(t, testClient(t, f.URL, nil), dir, nil)
	tr.LogParams(map[string]string{"lr": "0.001", runs.Text("sample_report"): "Small left effusion."})
	tr.SetTags(map[string]string{"device": "cpu"})
	ms := make([]runs.Metric, 2500)
	for i := range ms {
		ms[i] = runs.Metric{Key: "loss", Value: 1 / float64(i+1), Step: int64(i)}
	}
	tr.LogMetrics(ms)
	art := filepath.Join(dir, "report.html")
	os.WriteFile(art, []byte("<html></html>"), 0o644)
	tr.LogArtifact("report.html", art)
	if err := tr.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	r := f.OnlyRun(t)
	checkInOrder(t, r.Steps("loss"), 2500)
	want := map[string]string{TagRunName: "demo", TagUser: "alice", TagGitCommit: "abc123", TagParentRun: "parent1", "device": "cpu"}
	for k, v := range want {
		if r.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, r.Tags[k], v)
		}
	}
	if r.Params["lr"] != "0.001" || r.Params["text:sample_report"] != runs.Redacted {
		t.Errorf("params %v", r.Params)
	}
	if r.Info.Status != StatusFinished {
		t.Errorf("status %s", r.Info.Status)
	}
	if len(f.Artifacts()) != 1 {
		t.Errorf("artifacts %v", f.Artifacts())
	}
	if n := f.Count("runs/log-batch"); n < 3 || n > 5 {
		t.Errorf("%d log-batch calls for 2500 metrics, 2 params, 1 tag", n)
	}
	for _, b := range f.Bodies() {
		if strings.Contains(b, "effusion") {
			t.Error("patient text sent to MLflow")
		}
	}
	if RunIDOf(dir) != r.Info.RunID {
		t.Errorf("state file run id %q", RunIDOf(dir))
	}
}

func TestTrackerBuffersDuringOutageAndReplaysInOrder(t *testing.T) {
	f := mlflowtest.NewServer(t)
	var down atomic.Bool
	var failed atomic.Int32
	f.SetInject(func(r *http.Request) int {
		if !down.Load() {
			return 0
		}
		if failed.Add(1)%2 == 0 {
			return -1
		}
		return 503
	})
	dir := t.TempDir()
	clk := clock.NewFake(time.Unix(0, 0))
	c := testClient(t, f.URL, nil, clk)
	tr := startTracker(t, c, dir, func(o *TrackerOptions) { o.QueueSize = 8 })
	// The clock stands still unless the test moves it: while the server
	// is down the sender waits on it, so LogMetrics returning at all shows
	// that it never waits for the sender.
	log := func(from, to int) {
		for i := from; i < to; i++ {
			tr.LogMetrics([]runs.Metric{{Key: "loss", Value: float64(i), Step: int64(i)}})
		}
	}
	log(0, 100)
	down.Store(true)
	log(100, 300)
	for failed.Load() < 3 { // each retry once the sender waits for it
		clk.BlockUntil(1)
		clk.Advance(20 * time.Millisecond)
	}
	// Once the server is known to be down, what is logged goes to disk.
	log(300, 400)
	if st, err := os.Stat(filepath.Join(dir, SpoolFile)); err != nil || st.Size() == 0 {
		t.Fatalf("nothing spooled during the outage: %v", err)
	}
	down.Store(false)
	log(400, 500)
	if err := finish(tr, runs.Finished, clk, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := f.OnlyRun(t)
	checkInOrder(t, r.Steps("loss"), 500)
	if r.Info.Status != StatusFinished {
		t.Errorf("status %s", r.Info.Status)
	}
	if st, err := os.Stat(filepath.Join(dir, SpoolFile)); err == nil && st.Size() != 0 {
		t.Errorf("spool not emptied: %d bytes", st.Size())
	}
}

func TestDeadServerNeverStopsTraining(t *testing.T) {
	f := mlflowtest.NewServer(t)
	f.SetInject(func(*http.Request) int { return -1 })
	dir := t.TempDir()
	clk := clock.NewFake(time.Unix(0, 0))
	c := testClient(t, f.URL, nil, clk)
	tr := startTracker(t, c, dir, func(o *TrackerOptions) { o.FlushTimeout = 100 * time.Millisecond; o.QueueSize = 16 })
	// The sender waits on the clock, which stands still: the 2000 steps
	// go by without it.
	for i := range 2000 {
		if err := tr.LogMetrics([]runs.Metric{{Key: "loss", Value: 1, Step: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Finish ends within FlushTimeout of the clock.
	err := finish(tr, runs.Finished, clk, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "kept in") {
		t.Fatalf("Finish: %v", err)
	}
	if d := clk.Now().Sub(time.Unix(0, 0)); d > time.Second {
		t.Errorf("Finish took %v of the clock", d)
	}
	// The server comes back: a tracker started on the same directory
	// replays the spool, in order, including the final status.
	f.SetInject(nil)
	tr2 := startTracker(t, c, dir, nil)
	if err := tr2.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	r := f.OnlyRun(t)
	checkInOrder(t, r.Steps("loss"), 2000)
	if r.Info.Status != StatusFinished {
		t.Errorf("status %s", r.Info.Status)
	}
}

func TestTrackerPermanentFailureDisables(t *testing.T) {
	f := mlflowtest.NewServer(t)
	f.SetInject(func(*http.Request) int { return 403 })
	tr := startTracker(t, testClient(t, f.URL, nil), t.TempDir(), nil)
	for i := range 100 {
		if err := tr.LogMetrics([]runs.Metric{{Key: "loss", Step: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Finish(runs.Failed); err != nil {
		t.Errorf("Finish after a refused run: %v", err)
	}
	if err := tr.Finish(runs.Failed); err == nil {
		t.Error("second Finish succeeded")
	}
}

// Against a server that is down, Finish returns as soon as one more attempt
// fails, not after the client's backoff or FlushTimeout, and keeps
// everything in the spool.
func TestFinishDoesNotWaitForADeadServer(t *testing.T) {
	f := mlflowtest.NewServer(t)
	f.SetInject(func(*http.Request) int { return 503 })
	clk := clock.NewFake(time.Unix(0, 0))
	c, err := New(Config{URI: f.URL, Clock: clk}) // default retries and backoff
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr, err := Start(c, TrackerOptions{Experiment: "convirt", Dir: dir}) // default waits
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		tr.LogMetrics([]runs.Metric{{Key: "loss", Value: 1, Step: int64(i)}})
	}
	// The clock moves only for waits of up to a second (a retry of the
	// client's first backoff, at most BaseBackoff); FlushTimeout (30s) and
	// the client's later backoffs would take it much further.
	err = finish(tr, runs.Finished, clk, time.Second)
	if err == nil || !strings.Contains(err.Error(), "operations kept in") {
		t.Errorf("Finish: %v", err)
	}
	if d := clk.Now().Sub(time.Unix(0, 0)); d > 5*time.Second {
		t.Errorf("Finish waited %v of the clock for a dead server", d)
	}
	if f.Injected() == 0 {
		t.Error("the server was never tried")
	}
	// The spool holds the ten values, in order, and then the final status.
	sp := spool{path: filepath.Join(dir, SpoolFile)}
	if err := sp.load(); err != nil {
		t.Fatal(err)
	}
	ops, _, err := sp.peek(sp.size, 100)
	var steps []int64
	for _, o := range ops {
		for _, m := range o.Batch.Metrics {
			steps = append(steps, m.Step)
		}
	}
	if err != nil || len(ops) == 0 || ops[len(ops)-1].Kind != "finish" || ops[len(ops)-1].Status != StatusFinished {
		t.Errorf("spool ops %+v (%v): want the final status last", ops, err)
	}
	checkInOrder(t, steps, 10)
}

// finish calls tr.Finish, moving clk on by step whenever something waits
// on it for at most step (step 0: the clock stands still). Waits longer
// than step, such as FlushTimeout when it is longer, never end.
func finish(tr *Tracker, status runs.Status, clk *clock.Fake, step time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- tr.Finish(status) }()
	for {
		_, changed := clk.Waiting()
		if step > 0 && clk.Due(step) > 0 {
			clk.Advance(step)
			continue
		}
		select {
		case err := <-done:
			return err
		case <-changed:
		}
	}
}
