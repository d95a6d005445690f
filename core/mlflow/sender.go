package mlflow

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/convirt/convirt/core/atomicfile"
	"github.com/convirt/convirt/core/runs"
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
	for {
		if t.RunID() == "" && !t.isDisabled() {
			if err := t.createRun(ctx); err != nil {
				if ctx.Err() != nil {
					return // Finish gave up waiting
				}
				if !Transient(err) {
					t.log.Error("mlflow tracker: cannot create the run; not tracking to MLflow (the local run is complete; use `convirt runs push` later)", "err", err)
					t.disable()
					continue
				}
				t.setDown(true, err)
				if !t.sleep(wait) {
					return
				}
				wait = min(2*wait, t.opts.RetryMax)
				continue
			}
		}
		o, n, bytes, fromDisk, ok := t.next()
		if !ok {
			return
		}
		if !t.isDisabled() {
			if err := t.send(ctx, o); err != nil {
				if Transient(err) && ctx.Err() == nil {
					t.setDown(true, err)
					if !t.sleep(wait) {
						return
					}
					wait = min(2*wait, t.opts.RetryMax)
					continue
				}
				if ctx.Err() != nil {
					return
				}
				t.log.Warn("mlflow tracker: server refused an operation; dropped", "kind", o.Kind, "err", err)
			}
		}
		t.advance(n, bytes, fromDisk)
		t.setDown(false, nil)
		wait = t.opts.RetryMin
	}
}

func (t *Tracker) isDisabled() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.disabled }

func (t *Tracker) disable() {
	t.mu.Lock()
	t.disabled = true
	t.mu.Unlock()
}

func (t *Tracker) setDown(down bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if down && !t.down {
		t.log.Warn("mlflow tracker: server unreachable; buffering to disk", "spool", t.sp.path, "err", err)
	} else if !down && t.down {
		t.log.Info("mlflow tracker: server reachable again; replaying")
	}
	t.down = down
}

func (t *Tracker) sleep(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-t.quit:
		return false
	}
}

// next waits for the oldest pending operations: memory first (always older
// than the spool), then the spool. Consecutive batches are merged within
// the per-call limits. ok is false when finished and drained, or on quit.
func (t *Tracker) next() (o op, n int, size int64, fromDisk, ok bool) {
	for {
		t.mu.Lock()
		if len(t.mem) > 0 {
			o, n = merge(t.mem)
			t.mu.Unlock()
			return o, n, 0, false, true
		}
		if t.sp.count > 0 {
			limit := t.sp.size
			t.mu.Unlock()
			ops, lens, err := t.sp.peek(limit, MaxEntitiesPerBatch)
			if err != nil && len(ops) == 0 {
				t.log.Error("mlflow tracker: spool unreadable; discarding it", "err", err)
				t.mu.Lock()
				t.sp.reset()
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

// merge combines the leading run of batch ops of ops into one batch within
// the limits and returns it with the number of ops it covers.
func merge(ops []op) (op, int) {
	if ops[0].Kind != "batch" {
		return ops[0], 1
	}
	b := ops[0].Batch
	n := 1
	for ; n < len(ops) && ops[n].Kind == "batch"; n++ {
		x := ops[n].Batch
		if len(b.Metrics)+len(x.Metrics) > MaxMetricsPerBatch || len(b.Params)+len(x.Params) > MaxParamsPerBatch ||
			len(b.Tags)+len(x.Tags) > MaxTagsPerBatch || b.Len()+x.Len() > MaxEntitiesPerBatch || hasParamConflict(b.Params, x.Params) {
			break
		}
		b = Batch{Metrics: append(b.Metrics[:len(b.Metrics):len(b.Metrics)], x.Metrics...),
			Params: append(b.Params[:len(b.Params):len(b.Params)], x.Params...),
			Tags:   append(b.Tags[:len(b.Tags):len(b.Tags)], x.Tags...)}
	}
	return op{Kind: "batch", Batch: b}, n
}

// hasParamConflict reports a key present in both lists: MLflow rejects a
// batch that logs the same param twice, so such ops go in separate calls.
func hasParamConflict(a, b []KV) bool {
	seen := make(map[string]bool, len(a))
	for _, kv := range a {
		seen[kv.Key] = true
	}
	for _, kv := range b {
		if seen[kv.Key] {
			return true
		}
	}
	return false
}

func (t *Tracker) advance(n int, size int64, fromDisk bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !fromDisk {
		t.mem = append(t.mem[:0:0], t.mem[n:]...)
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
	switch o.Kind {
	case "batch":
		return t.c.logBatch(ctx, st.RunID, o.Batch)
	case "artifact":
		return t.c.UploadArtifact(ctx, st.ArtifactURI, o.Name, o.Src)
	case "finish":
		return t.c.UpdateRun(ctx, st.RunID, o.Status, time.UnixMilli(o.EndTime))
	}
	return nil
}

func (t *Tracker) createRun(ctx context.Context) error {
	expID, err := t.c.EnsureExperiment(ctx, t.opts.Experiment)
	if err != nil {
		return err
	}
	tags := map[string]string{}
	for k, v := range runs.RedactText(t.opts.Tags, t.opts.AllowText) {
		tags[k] = v
	}
	for k, v := range map[string]string{TagRunName: t.opts.RunName, TagUser: t.opts.User,
		TagGitCommit: t.opts.GitCommit, TagParentRun: t.opts.ParentRunID} {
		if v != "" {
			tags[k] = v
		}
	}
	info, err := t.c.CreateRun(ctx, expID, t.opts.RunName, time.Now(), sortedKV(tags))
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
