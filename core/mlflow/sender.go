package mlflow

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// loop is the background sender: it creates the MLflow run, then sends
// queued operations in order, waiting with exponential backoff while the
// server is unreachable.
func (t *Tracker) loop() {
	defer close(t.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.quit:
			cancel()
		case <-t.done:
		}
	}()
	wait := t.opts.RetryMin
	// failed records a transient failure and waits before the next attempt;
	// false means Finish gave up.
	failed := func(err error, afterFinish bool) bool {
		t.setDown(err, afterFinish)
		if !t.backoff(wait) {
			return false
		}
		wait = min(2*wait, t.opts.RetryMax)
		return true
	}
	for {
		if t.RunID() == "" && !t.isDisabled() {
			afterFinish := t.isFinished()
			if err := t.createRun(ctx); err != nil {
				if ctx.Err() != nil {
					return // Finish gave up waiting
				}
				if !Transient(err) {
					t.log.Error("mlflow tracker: cannot create the run; not tracking to MLflow (the local run is complete; use `convirt runs push` later)", "err", err)
					t.disable()
					continue
				}
				if !failed(err, afterFinish) {
					return
				}
				continue
			}
		}
		o, n, bytes, fromDisk, ok := t.next()
		if !ok {
			return
		}
		if !t.isDisabled() {
			afterFinish := t.isFinished()
			if err := t.send(ctx, o); err != nil {
				if Transient(err) && ctx.Err() == nil {
					if !failed(err, afterFinish) {
						return
					}
					continue
				}
				if ctx.Err() != nil {
					return
				}
				t.log.Warn("mlflow tracker: server refused an operation; dropped", "kind", o.Kind, "err", err)
			}
		}
		t.advance(n, bytes, fromDisk)
		t.setUp()
		wait = t.opts.RetryMin
	}
}

func (t *Tracker) isDisabled() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.disabled }

func (t *Tracker) disable() {
	t.mu.Lock()
	t.disabled = true
	t.mu.Unlock()
}

func (t *Tracker) isFinished() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.finished }

// setDown records a failed attempt: the server is unreachable. A failure
// of an attempt started after Finish was called tells Finish to stop
// waiting for a server that is down.
func (t *Tracker) setDown(err error, afterFinish bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.down {
		t.log.Warn("mlflow tracker: server unreachable; buffering to disk", "spool", t.sp.path, "err", err)
	}
	t.down = true
	if afterFinish {
		select {
		case t.failedAfterFinish <- struct{}{}:
		default:
		}
	}
}

// setUp records a successful attempt.
func (t *Tracker) setUp() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.down {
		t.log.Info("mlflow tracker: server reachable again; replaying")
	}
	t.down = false
}

// sleep waits d, on the system clock (it paces a poll of the spool, not a
// wait a test times); false means Finish gave up.
func (t *Tracker) sleep(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-t.quit:
		return false
	}
}

// backoff waits d between attempts, or less once Finish is called: then
// the next attempt is made at once, since Finish waits for its outcome.
func (t *Tracker) backoff(d time.Duration) bool {
	select {
	case <-t.opts.Clock.After(d):
		return true
	case <-t.finishing:
		return true
	case <-t.quit:
		return false
	}
}

// next waits for the oldest pending operations: memory first (always older
// than the spool), then the spool. Consecutive batches are merged within
// the per-call limits; values logged in memory wait to fill a batch, up to
// FlushInterval (readyLocked). ok is false when finished and drained, or on
// quit.
func (t *Tracker) next() (o op, n int, size int64, fromDisk, ok bool) {
	var flush flushTimer
	for {
		t.mu.Lock()
		if len(t.mem) > 0 {
			o, n = merge(t.mem)
			at, ready := t.readyLocked(o, n)
			if ready {
				t.sending = n
				t.mu.Unlock()
				return o, n, 0, false, true
			}
			t.mu.Unlock()
			select { // more to log, the flush time, or Finish
			case <-t.wake:
			case <-flush.until(t.opts.Clock, at):
			case <-t.finishing:
			case <-t.quit:
				return op{}, 0, 0, false, false
			}
			continue
		}
		if t.sp.count > 0 {
			limit := t.sp.size
			t.mu.Unlock()
			ops, lens, err := t.sp.peek(limit, MaxEntitiesPerBatch)
			if err != nil && len(ops) == 0 {
				t.log.Error("mlflow tracker: spool unreadable; discarding it", "err", err)
				t.mu.Lock()
				if err := t.sp.reset(); err != nil {
					t.log.Error("mlflow tracker: cannot reset the spool", "err", err)
				}
				t.mu.Unlock()
				continue
			}
			if len(ops) == 0 {
				t.sleep(10 * time.Millisecond)
				continue
			}
			o, n = merge(ops)
			for _, l := range lens[:n] {
				size += l
			}
			return o, n, size, true, true
		}
		done := t.finished
		t.mu.Unlock()
		if done {
			return op{}, 0, 0, false, false
		}
		select {
		case <-t.wake:
		case <-t.quit:
			return op{}, 0, 0, false, false
		}
	}
}

func (t *Tracker) advance(n int, size int64, fromDisk bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !fromDisk {
		t.mem = append(t.mem[:0:0], t.mem[n:]...)
		t.sending = 0
		return
	}
	t.sp.read += size
	t.sp.count -= n
	if t.sp.count <= 0 {
		if err := t.sp.reset(); err != nil {
			t.log.Error("mlflow tracker: cannot truncate spool", "err", err)
		}
	}
}

func (t *Tracker) send(ctx context.Context, o op) error {
	t.mu.Lock()
	st := t.st
	t.mu.Unlock()
	return sendOp(ctx, t.c, st, o)
}

// sendOp sends one operation to the MLflow run st.
func sendOp(ctx context.Context, c *Client, st state, o op) error {
	switch o.Kind {
	case "batch":
		return c.logBatch(ctx, st.RunID, o.Batch)
	case "artifact":
		return c.UploadArtifact(ctx, st.ArtifactURI, o.Name, o.Src)
	case "finish":
		return c.UpdateRun(ctx, st.RunID, o.Status, time.UnixMilli(o.EndTime))
	}
	return nil
}

func (t *Tracker) createRun(ctx context.Context) error {
	expID, err := t.c.EnsureExperiment(ctx, t.opts.Experiment)
	if err != nil {
		return err
	}
	tags := runTags(t.opts.Tags, t.opts.AllowText, reserved{name: t.opts.RunName, user: t.opts.User,
		gitCommit: t.opts.GitCommit, localID: t.opts.LocalRunID, parent: t.opts.ParentRunID})
	info, err := t.c.CreateRun(ctx, expID, t.opts.RunName, t.opts.Clock.Now(), sortedKV(tags))
	if err != nil {
		return err
	}
	st := state{RunID: info.RunID, ExperimentID: expID, ArtifactURI: info.ArtifactURI, TrackingURI: t.c.URI()}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := atomicfile.Write(filepath.Join(t.opts.Dir, StateFile), append(b, '\n'), 0o644); err != nil {
		t.log.Warn("mlflow tracker: cannot record the run id", "err", err)
	}
	t.mu.Lock()
	t.st = st
	t.mu.Unlock()
	return nil
}
