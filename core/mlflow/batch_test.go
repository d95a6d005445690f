package mlflow

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

// batchTracker is a tracker on a fake server whose clock stands still
// unless the test moves it.
func batchTracker(t *testing.T) (*Tracker, *mlflowtest.Server, *clock.Fake) {
	t.Helper()
	f := mlflowtest.NewServer(t)
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	tr := startTracker(t, testClient(t, f.URL, nil, clk), t.TempDir(), func(o *TrackerOptions) { o.FlushInterval = 5 * time.Second })
	return tr, f, clk
}

// sent is how many metric values the server holds.
func sent(f *mlflowtest.Server) int {
	n := 0
	for _, r := range f.Runs() {
		n += len(r.Metrics)
	}
	return n
}

// settle returns once the server holds n metric values, or the tracker
// waits on its clock: what a training loop's steps give the sender, time
// to send what was logged before the next step logs more.
func settle(f *mlflowtest.Server, clk *clock.Fake, n int) {
	for {
		calls := f.Changed()
		waiting, ticks := clk.Waiting()
		if waiting > 0 || sent(f) >= n {
			return
		}
		select {
		case <-calls:
		case <-ticks:
		}
	}
}

// waitSent returns once the server holds n metric values.
func waitSent(f *mlflowtest.Server, n int) {
	for {
		calls := f.Changed()
		if sent(f) >= n {
			return
		}
		<-calls
	}
}

// logDemoStream logs what the demo logs, in its shape: 150 params, a few
// tags, then 498 metric values in 339 calls of one to three values.
func logDemoStream(t *testing.T, tr *Tracker, f *mlflowtest.Server, clk *clock.Fake) {
	t.Helper()
	params := map[string]string{}
	for i := range 150 {
		params[fmt.Sprintf("recipe.key%03d", i)] = fmt.Sprint(i)
	}
	if err := tr.LogParams(params); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetTags(map[string]string{"device": "cpu", "seed": "1", "plugin.linear": "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	step := int64(0)
	for call := range 339 {
		n := 1
		if call%2 == 0 && call < 318 { // 159 calls of two values, 180 of one
			n = 2
		}
		var ms []runs.Metric
		for range n {
			ms = append(ms, runs.Metric{Key: "train/loss", Value: 1, Step: step})
			step++
		}
		if err := tr.LogMetrics(ms); err != nil {
			t.Fatal(err)
		}
		settle(f, clk, int(step))
	}
	if step != 498 {
		t.Fatalf("the stream has %d values, want the demo's 498", step)
	}
}

// The demo's stream reaches MLflow in as few calls as the limits allow:
// the first 100 params, then the other 50 with the tags and all 498
// values (sending each call as it came made 339 calls).
func TestDemoStreamSendsFewFullBatches(t *testing.T) {
	tr, f, clk := batchTracker(t)
	logDemoStream(t, tr, f, clk)
	if err := finish(tr, runs.Finished, clk, 0); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("runs/log-batch"); n != 2 {
		t.Errorf("%d runs/log-batch calls for 150 params, 3 tags and 498 metrics, want 2", n)
	}
	r := f.OnlyRun(t)
	checkInOrder(t, r.Steps("train/loss"), 498)
	if len(r.Params) != 150 || r.Tags["plugin.linear"] != "1.0.0" || r.Info.Status != StatusFinished {
		t.Errorf("%d params, tags %v, status %s", len(r.Params), r.Tags, r.Info.Status)
	}
}

// A batch that is not full waits FlushInterval for more values, on the
// tracker's clock, and then goes without waiting for the end of the run.
func TestBatchWaitsFlushInterval(t *testing.T) {
	tr, f, clk := batchTracker(t)
	for i := range 3 {
		if err := tr.LogMetrics([]runs.Metric{{Key: "loss", Value: 1, Step: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.BlockUntil(1) // the sender waits for the flush time
	clk.Advance(5*time.Second - time.Millisecond)
	if n := f.Count("runs/log-batch"); n != 0 {
		t.Fatalf("%d runs/log-batch calls before FlushInterval passed, want 0", n)
	}
	clk.Advance(time.Millisecond)
	settle(f, clk, 3) // sent before Finish
	if err := finish(tr, runs.Finished, clk, 0); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("runs/log-batch"); n != 1 {
		t.Errorf("%d runs/log-batch calls, want 1", n)
	}
	checkInOrder(t, f.OnlyRun(t).Steps("loss"), 3)
}

// A full batch goes at once, with the clock standing still: 2500 values
// logged one by one make calls of 1000, 1000 and, at Finish, 500.
func TestFullBatchGoesAtOnce(t *testing.T) {
	tr, f, clk := batchTracker(t)
	for i := range 2500 {
		if err := tr.LogMetrics([]runs.Metric{{Key: "loss", Value: 1, Step: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitSent(f, 2000) // two calls made before Finish, the clock standing still
	if err := finish(tr, runs.Finished, clk, 0); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range f.Bodies() {
		if strings.Contains(b, `"metrics"`) {
			sizes = append(sizes, strings.Count(b, `"key":"loss"`))
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("runs/log-batch calls of %v values, want [1000 1000 500]", sizes)
	}
	checkInOrder(t, f.OnlyRun(t).Steps("loss"), 2500)
}

// Whatever way a run ends, what it logged is flushed and the run gets its
// final status, without the clock moving.
func TestEveryEndFlushesAndSetsTheStatus(t *testing.T) {
	for status, want := range map[runs.Status]string{runs.Finished: StatusFinished, runs.Failed: StatusFailed, runs.Killed: StatusKilled} {
		t.Run(string(status), func(t *testing.T) {
			tr, f, clk := batchTracker(t)
			logDemoStream(t, tr, f, clk)
			if err := finish(tr, status, clk, 0); err != nil {
				t.Fatal(err)
			}
			r := f.OnlyRun(t)
			checkInOrder(t, r.Steps("train/loss"), 498)
			if r.Info.Status != want || r.Info.EndTime == 0 {
				t.Errorf("status %s, end time %d; want %s and an end time", r.Info.Status, r.Info.EndTime, want)
			}
		})
	}
}
