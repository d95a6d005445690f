package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// The tracker's queue: operations wait in memory, or in the spool on disk
// once the server is down or memory is full, until the sender (sender.go)
// takes them in order.

// enqueueBatches queues metrics, params and tags as batches within the
// server's limits.
func (t *Tracker) enqueueBatches(ms []Metric, params, tags []KV) error {
	for _, b := range Split(ms, params, tags) {
		if err := t.enqueue(op{Kind: "batch", Batch: b}); err != nil {
			return err
		}
	}
	return nil
}

// enqueue queues one operation: in memory while the server is up and the
// spool is empty (a batch joins the newest one there when it fits, see
// batch.go), else in the spool (dropped, and logged, only if the spool
// cannot be written).
func (t *Tracker) enqueue(o op) error {
	t.mu.Lock()
	defer t.signal()
	defer t.mu.Unlock()
	switch {
	case t.finished:
		return errors.New("mlflow tracker: already finished")
	case t.disabled:
		return nil
	case t.down || t.sp.count > 0 || len(t.mem) >= t.opts.QueueSize:
		if err := t.sp.append(o); err != nil {
			t.log.Error("mlflow tracker: cannot spool; operation dropped", "kind", o.Kind, "err", err)
		}
	case t.coalesceLocked(o):
	default:
		o.at = t.opts.Clock.Now()
		t.mem = append(t.mem, o)
	}
	return nil
}

// signal wakes the sender without blocking.
func (t *Tracker) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// persistLocked writes what is still queued in memory in front of the
// spool's unsent part, so a later Start on the same directory replays all.
func (t *Tracker) persistLocked() error {
	if len(t.mem) == 0 && t.sp.read == 0 {
		return t.sp.close()
	}
	var buf []byte
	for _, o := range t.mem {
		b, _ := json.Marshal(o)
		buf = append(append(buf, b...), '\n')
	}
	if t.sp.count > 0 {
		data, err := os.ReadFile(t.sp.path)
		if err != nil {
			return fmt.Errorf("mlflow tracker: %w", err)
		}
		buf = append(buf, data[t.sp.read:t.sp.size]...)
	}
	_ = t.sp.close() // rewritten whole just below
	t.mem = nil
	return atomicfile.Write(t.sp.path, buf, 0o600)
}
