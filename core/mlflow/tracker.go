package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/runs"
)

// Files the Tracker keeps in its directory (the local run directory).
const (
	StateFile = "mlflow.json"        // the MLflow run this directory is recorded as
	SpoolFile = "mlflow-spool.jsonl" // operations waiting for the server
)

// TrackerOptions configure a Tracker.
type TrackerOptions struct {
	Experiment  string // MLflow experiment name (created when missing)
	RunName     string // mlflow.runName
	ParentRunID string // MLflow id of the parent run (mlflow.parentRunId)
	User        string // mlflow.user
	GitCommit   string // mlflow.source.git.commit: the project's commit (runs.Env.GitCommit)
	LocalRunID  string // convirt.run_id: the local run's id
	// Tags are set at creation: the local run's tags (runs.Run.Tags), so
	// that its provenance tags (runs.Env.ProvenanceTags) reach MLflow.
	Tags      map[string]string
	Dir       string // where StateFile and SpoolFile live; required
	AllowText bool   // send params/tags marked runs.TextPrefix verbatim
	// QueueSize is how many operations wait in memory before further ones
	// go to the disk spool; default 1024.
	QueueSize int
	// RetryMin and RetryMax bound the wait between attempts while the
	// server is unreachable; defaults 1s and 60s.
	RetryMin, RetryMax time.Duration
	// FlushInterval is how long a logged value waits, at most, in memory
	// for others to fill its runs/log-batch call; a full batch, an artifact
	// or the end of the run sends it sooner. Default DefaultFlushInterval.
	FlushInterval time.Duration
	// FlushTimeout is how long Finish waits for the queue to drain; what
	// is left stays in the spool for a later Resume; default 30s.
	FlushTimeout time.Duration
	Logger       *slog.Logger
	// Clock times the tracker's waits (retries, FlushTimeout, WaitRunID)
	// and the run's start and end; default the client's (Config.Clock).
	Clock clock.Clock
}

type state struct {
	RunID        string `json:"run_id"`
	ExperimentID string `json:"experiment_id"`
	ArtifactURI  string `json:"artifact_uri"`
	TrackingURI  string `json:"tracking_uri"`
}

// Tracker records a run on an MLflow server asynchronously and implements
// runs.Tracker. Its methods never block on the network and never fail
// because the server is down: operations go to a bounded in-memory queue,
// and to a spool file while the server is unreachable or the queue is full;
// a background sender replays them in order, with backoff, when the
// server answers again. Logged values are sent in full runs/log-batch
// calls, waiting at most FlushInterval for others to join them (batch.go).
type Tracker struct {
	c    *Client
	opts TrackerOptions
	log  *slog.Logger

	mu       sync.Mutex
	mem      []op
	sending  int // ops at the head of mem the sender has taken
	sp       spool
	st       state
	down     bool
	disabled bool // a permanent failure to create the run: ops are discarded
	finished bool

	wake, quit, done  chan struct{}
	finishing         chan struct{} // closed by Finish
	failedAfterFinish chan struct{} // an attempt started after Finish failed
}

var _ runs.Tracker = (*Tracker)(nil)

// Start begins tracking. If opts.Dir already holds a StateFile (the
// directory was tracked before), the same MLflow run is resumed and any
// spooled operations are replayed first. Start itself does no network I/O.
func Start(c *Client, opts TrackerOptions) (*Tracker, error) {
	if opts.Experiment == "" || opts.Dir == "" {
		return nil, errors.New("mlflow tracker: Experiment and Dir are required")
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(60*time.Second, opts.RetryMin)
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 30 * time.Second
	}
	// The tracker retries on its own, buffering meanwhile: a call gets one
	// quick retry for a blip, so that a server that is down is noticed at
	// once rather than after the client's long backoff.
	c = c.withMaxRetries(1)
	if opts.Clock == nil {
		opts.Clock = c.cfg.Clock
	}
	t := &Tracker{c: c, opts: opts, log: c.log, sp: spool{path: filepath.Join(opts.Dir, SpoolFile)},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		finishing: make(chan struct{}), failedAfterFinish: make(chan struct{}, 1)}
	if opts.Logger != nil {
		t.log = opts.Logger
	}
	if b, err := os.ReadFile(filepath.Join(opts.Dir, StateFile)); err == nil {
		if err := json.Unmarshal(b, &t.st); err != nil {
			return nil, fmt.Errorf("mlflow tracker: %s: %w", filepath.Join(opts.Dir, StateFile), err)
		}
	}
	if err := t.sp.load(); err != nil {
		return nil, err
	}
	go t.loop()
	return t, nil
}

// RunIDOf returns the MLflow run id recorded in a tracked directory, "" if
// it has none yet.
func RunIDOf(dir string) string {
	var st state
	if b, err := os.ReadFile(filepath.Join(dir, StateFile)); err == nil {
		_ = json.Unmarshal(b, &st) // an unreadable state file: no id yet
	}
	return st.RunID
}

// RunID is the MLflow run id, "" until the server has created the run.
func (t *Tracker) RunID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.RunID
}

// LogParams implements runs.Tracker.
func (t *Tracker) LogParams(p map[string]string) error {
	return t.enqueueBatches(nil, t.c.fitParams(sortedKV(runs.RedactText(p, t.opts.AllowText))), nil)
}

// SetTags implements runs.Tracker.
func (t *Tracker) SetTags(tags map[string]string) error {
	return t.enqueueBatches(nil, nil, t.c.fitTags(sortedKV(runs.RedactText(tags, t.opts.AllowText))))
}

// LogMetrics implements runs.Tracker.
func (t *Tracker) LogMetrics(ms []runs.Metric) error {
	out := make([]Metric, len(ms))
	for i, m := range ms {
		out[i] = FromRunMetric(m)
	}
	return t.enqueueBatches(t.c.fitMetrics(out), nil, nil)
}

// LogArtifact implements runs.Tracker: src is uploaded as name. The file
// must stay in place until it is sent (use a file inside the run dir).
func (t *Tracker) LogArtifact(name, src string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("mlflow tracker: artifact %s: %w", name, err)
	}
	return t.enqueue(op{Kind: "artifact", Name: name, Src: abs})
}

// Finish implements runs.Tracker: it queues the final status and waits for
// everything to reach the server, up to FlushTimeout, or until an attempt
// made after the call fails (the server is down: waiting longer would only
// delay the end of the run). Operations still unsent are kept in the spool
// file, for a later Start on the same directory or Push, and the error
// says so.
func (t *Tracker) Finish(status runs.Status) error {
	if err := t.enqueue(op{Kind: "finish", Status: StatusOf(status), EndTime: t.opts.Clock.Now().UnixMilli()}); err != nil {
		return err
	}
	t.mu.Lock()
	t.finished = true
	t.mu.Unlock()
	close(t.finishing)
	t.signal()
	select {
	case <-t.done:
	case <-t.opts.Clock.After(t.opts.FlushTimeout):
		close(t.quit)
		<-t.done
	case <-t.failedAfterFinish:
		close(t.quit)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	left := len(t.mem) + t.sp.count
	err := t.persistLocked()
	if left > 0 && !t.disabled {
		return errors.Join(fmt.Errorf("mlflow tracker: server %s unreachable: %d operations kept in %s", t.c.URI(), left, t.sp.path), err)
	}
	return err
}

func sortedKV(m map[string]string) []KV {
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// WaitRunID waits until the server has created the run and returns its id,
// or "" when ctx ends or timeout passes first (the server may be down: the
// run is then created later, from the spool). A sweep waits for its parent's
// id so that its children can name it in mlflow.parentRunId.
func (t *Tracker) WaitRunID(ctx context.Context, timeout time.Duration) string {
	deadline := t.opts.Clock.Now().Add(timeout)
	for {
		if id := t.RunID(); id != "" {
			return id
		}
		if t.opts.Clock.Now().After(deadline) || ctx.Err() != nil {
			return ""
		}
		select {
		case <-ctx.Done():
		case <-t.opts.Clock.After(50 * time.Millisecond):
		}
	}
}

// OptionsFor returns TrackerOptions describing the local run: its name,
// user, project commit, id and tags (the provenance tags among them), as
// Push reads them from the run directory, so that a live run and a pushed
// one carry the same tags. The caller sets Experiment and the rest.
func OptionsFor(run *runs.Run) TrackerOptions {
	m := run.Meta()
	return TrackerOptions{RunName: m.Name, User: m.Env.User, GitCommit: m.Env.GitCommit, LocalRunID: m.ID,
		Tags: run.Tags(), Dir: run.Dir()}
}
