package mlflow

import (
	"time"

	"github.com/convirt/convirt/core/clock"
)

// How the tracker fills runs/log-batch calls: a training loop logs one to
// three values a step, and sending each as it comes made hundreds of calls
// of a few metrics each (the demo: 339 calls for 498 metrics). Logged
// values instead join the newest batch waiting in memory (coalesceLocked)
// while it has room within the per-call limits, and a batch is sent once it
// is full, once something that cannot join it is queued behind it, once its
// oldest value has waited FlushInterval, or at Finish (readyLocked).

// DefaultFlushInterval is how long a logged value waits, at most, for
// others to share its runs/log-batch call (TrackerOptions.FlushInterval).
const DefaultFlushInterval = 5 * time.Second

// fits reports whether x can join b in one call: within the per-call
// limits, and without a param logged twice (MLflow rejects such a batch).
func fits(b, x Batch) bool {
	return len(b.Metrics)+len(x.Metrics) <= MaxMetricsPerBatch && len(b.Params)+len(x.Params) <= MaxParamsPerBatch &&
		len(b.Tags)+len(x.Tags) <= MaxTagsPerBatch && b.Len()+x.Len() <= MaxEntitiesPerBatch && !hasParamConflict(b.Params, x.Params)
}

// full reports whether b has reached one of the per-call limits.
func full(b Batch) bool {
	return len(b.Metrics) >= MaxMetricsPerBatch || len(b.Params) >= MaxParamsPerBatch ||
		len(b.Tags) >= MaxTagsPerBatch || b.Len() >= MaxEntitiesPerBatch
}

// join returns b with x appended; b's slices are not written to.
func join(b, x Batch) Batch {
	return Batch{Metrics: append(b.Metrics[:len(b.Metrics):len(b.Metrics)], x.Metrics...),
		Params: append(b.Params[:len(b.Params):len(b.Params)], x.Params...),
		Tags:   append(b.Tags[:len(b.Tags):len(b.Tags)], x.Tags...)}
}

// merge combines the leading run of batch ops of ops into one batch within
// the limits and returns it with the number of ops it covers.
func merge(ops []op) (op, int) {
	if ops[0].Kind != "batch" {
		return ops[0], 1
	}
	b := ops[0].Batch
	n := 1
	for ; n < len(ops) && ops[n].Kind == "batch" && fits(b, ops[n].Batch); n++ {
		b = join(b, ops[n].Batch)
	}
	return op{Kind: "batch", Batch: b, at: ops[0].at}, n
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

// coalesceLocked adds the batch o to the newest op in memory when that one
// is a batch the sender is not sending and o fits in it; false means o
// needs an op of its own.
func (t *Tracker) coalesceLocked(o op) bool {
	last := len(t.mem) - 1
	if o.Kind != "batch" || last < t.sending || t.mem[last].Kind != "batch" || !fits(t.mem[last].Batch, o.Batch) {
		return false
	}
	t.mem[last].Batch = join(t.mem[last].Batch, o.Batch)
	return true
}

// readyLocked says whether the merged head o of memory, covering n ops,
// is to be sent now, and if not, when it will be: at FlushInterval after
// its oldest value was logged.
func (t *Tracker) readyLocked(o op, n int) (time.Time, bool) {
	at := o.at.Add(t.opts.FlushInterval)
	ready := t.finished || o.Kind != "batch" || n < len(t.mem) || full(o.Batch) || !t.opts.Clock.Now().Before(at)
	return at, ready
}

// flushTimer is the sender's wait for a batch's flush time: one clock wait
// per deadline, however often the sender wakes meanwhile.
type flushTimer struct {
	deadline time.Time
	c        <-chan time.Time
}

// until returns a channel that receives once clk reaches at.
func (f *flushTimer) until(clk clock.Clock, at time.Time) <-chan time.Time {
	if f.c == nil || !f.deadline.Equal(at) {
		f.deadline, f.c = at, clk.After(at.Sub(clk.Now()))
	}
	return f.c
}
