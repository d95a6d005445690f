package runs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// flushEvery bounds how many metric lines sit in memory before they are
// handed to the OS (a crash of the process then loses at most these; a
// crash of the machine loses what was not fsynced by Sync or Finish).
const flushEvery = 64

// LogParam records one param; see LogParams.
func (r *Run) LogParam(key, value string) error {
	return r.LogParams(map[string]string{key: value})
}

// LogParams records params in params.json. As in MLflow, a param is
// immutable: logging a different value for an existing key is an error.
// Values of keys marked as patient text are redacted unless the run allows
// text.
func (r *Run) LogParams(params map[string]string) error {
	return r.merge("log param", ParamsFile, &r.params, params, func(k, v string) error {
		if old, ok := r.params[k]; ok && old != v {
			return fmt.Errorf("run %s: log param %q: already logged as %q, cannot change to %q", r.meta.ID, k, old, v)
		}
		return nil
	})
}

// SetTag sets one tag; see SetTags.
func (r *Run) SetTag(key, value string) error {
	return r.SetTags(map[string]string{key: value})
}

// SetTags sets (or overwrites) tags in tags.json, redacting patient text
// unless allowed.
func (r *Run) SetTags(tags map[string]string) error {
	return r.merge("set tag", TagsFile, &r.tags, tags, nil)
}

// merge is LogParams and SetTags (op names which in errors): it redacts
// patient text in kv unless the run allows it, refuses an empty key and
// checks every pair with check if not nil (under the run's lock, before
// anything is written), and writes *cur with kv merged in to file, then
// makes that the current map.
func (r *Run) merge(op, file string, cur *map[string]string, kv map[string]string, check func(k, v string) error) error {
	kv = RedactText(kv, r.allowText)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range kv {
		if k == "" {
			return fmt.Errorf("run %s: %s: empty key", r.meta.ID, op)
		}
		if check != nil {
			if err := check(k, v); err != nil {
				return err
			}
		}
	}
	next := clone(*cur)
	for k, v := range kv {
		next[k] = v
	}
	if err := writeJSON(filepath.Join(r.dir, file), next); err != nil {
		return fmt.Errorf("run %s: %w", r.meta.ID, err)
	}
	*cur = next
	return nil
}

// LogMetric appends one value to metrics.jsonl. Writes are buffered; they
// reach the file every few dozen lines, and the disk on Sync and Finish.
func (r *Run) LogMetric(key string, value float64, step int64) error {
	return r.LogMetrics([]Metric{{Key: key, Value: value, Step: step}})
}

// LogMetrics appends metrics to metrics.jsonl; a zero Time is set to now.
func (r *Run) LogMetrics(ms []Metric) error {
	now := time.Now().UTC()
	lines := make([][]byte, 0, len(ms))
	for _, m := range ms {
		if m.Key == "" {
			return fmt.Errorf("run %s: log metric: empty key", r.meta.ID)
		}
		if m.Time.IsZero() {
			m.Time = now
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("run %s: log metric %q: %w", r.meta.ID, m.Key, err)
		}
		lines = append(lines, b)
	}
	return r.appendMetricLines("log metric", lines)
}

// appendMetricLines appends lines (JSON, without newlines) to metrics.jsonl
// through the run's buffer, flushing it every flushEvery lines; op names
// the caller in errors.
func (r *Run) appendMetricLines(op string, lines [][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mbuf == nil {
		f, err := openAppend(filepath.Join(r.dir, MetricsFile))
		if err != nil {
			return fmt.Errorf("run %s: %s: %w", r.meta.ID, op, err)
		}
		r.mfile, r.mbuf = f, bufio.NewWriter(f)
	}
	for _, b := range lines {
		// A flush may cut a line; readers skip an unterminated final
		// line and openAppend trims it before appending again.
		if _, err := r.mbuf.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("run %s: %s: %w", r.meta.ID, op, err)
		}
		r.pending++
	}
	if r.pending >= flushEvery {
		if err := r.mbuf.Flush(); err != nil {
			return fmt.Errorf("run %s: flush metrics: %w", r.meta.ID, err)
		}
		r.pending = 0
	}
	return nil
}

// Rewind records that the run continues from its state after step: a
// resumed or restarted attempt (from a checkpoint, or from scratch with
// step -1) that logs the later steps again. The values logged before it at
// steps after step belong to the abandoned attempt; ReadMetrics leaves them
// out, so that an attempt that stops earlier than the abandoned one (early
// stopping, a time limit, a failure) does not keep that attempt's values as
// its own. The values up to step are kept: the attempt that wrote that
// step's checkpoint logged them. The marker is a line of metrics.jsonl,
// {"rewind":step,"time":...}; nothing is deleted.
func (r *Run) Rewind(step int64) error {
	if step < -1 {
		return fmt.Errorf("run %s: rewind to step %d: the lowest is -1", r.meta.ID, step)
	}
	b, err := json.Marshal(rewindJSON{Rewind: &step, Time: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("run %s: rewind: %w", r.meta.ID, err)
	}
	return r.appendMetricLines("rewind", [][]byte{b})
}

// Sync flushes buffered metrics and fsyncs metrics.jsonl. Call it when a
// checkpoint is written so metrics and checkpoints agree after a crash.
func (r *Run) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncLocked()
}

func (r *Run) syncLocked() error {
	if r.mbuf == nil {
		return nil
	}
	if err := r.mbuf.Flush(); err != nil {
		return fmt.Errorf("run %s: flush metrics: %w", r.meta.ID, err)
	}
	r.pending = 0
	if err := r.mfile.Sync(); err != nil {
		return fmt.Errorf("run %s: sync metrics: %w", r.meta.ID, err)
	}
	return nil
}

// LogArtifact copies the file src into the run's artifacts/ directory under
// name (which may contain subdirectories), atomically.
func (r *Run) LogArtifact(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("run %s: log artifact: %w", r.meta.ID, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("run %s: log artifact %s: %w", r.meta.ID, src, err)
	}
	return r.WriteFileAtomic(filepath.Join(ArtifactsDir, name), data)
}

// Finish flushes and fsyncs the metrics, records the end time and status in
// meta.json and closes the run. A run whose process dies before Finish keeps
// status "running"; see docs/tracking.md.
func (r *Run) Finish(status Status) error {
	switch status {
	case Finished, Failed, Killed:
	default:
		return fmt.Errorf("run %s: finish: invalid status %q", r.meta.ID, status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.meta.Status != Running {
		return fmt.Errorf("run %s: finish: already %s", r.meta.ID, r.meta.Status)
	}
	err := r.syncLocked()
	if r.mfile != nil {
		if cerr := r.mfile.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("run %s: close metrics: %w", r.meta.ID, cerr)
		}
		r.mfile, r.mbuf = nil, nil
	}
	m := r.meta
	m.Status, m.EndTime = status, time.Now().UTC()
	if werr := writeJSON(filepath.Join(r.dir, MetaFile), m); werr != nil {
		return fmt.Errorf("run %s: finish: %w", r.meta.ID, werr)
	}
	r.meta = m
	return err
}

// openAppend opens a JSON-lines file for appending, first cutting off an
// unterminated final line left by a crash so new lines start cleanly.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, err
	}
	keep := size
	buf := make([]byte, 4096)
	for keep > 0 {
		n := int64(len(buf))
		if keep < n {
			n = keep
		}
		if _, err := f.ReadAt(buf[:n], keep-n); err != nil {
			f.Close()
			return nil, err
		}
		i := bytes.LastIndexByte(buf[:n], '\n')
		if i >= 0 {
			keep = keep - n + int64(i) + 1
			break
		}
		keep -= n
	}
	if keep != size {
		if err := f.Truncate(keep); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Reopen marks a run that ended (killed, failed, or a finished one being
// continued) as running again, for `convirt run --resume`. Its records are
// kept; the end time is cleared, a "resumed" tag counts the restarts, and
// TagResumedRevision names the convirt revision resuming it when that is
// not the one that created it.
func (r *Run) Reopen() error {
	r.mu.Lock()
	m := r.meta
	m.Status, m.EndTime = Running, time.Time{}
	if err := writeJSON(filepath.Join(r.dir, MetaFile), m); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("run %s: reopen: %w", r.meta.ID, err)
	}
	r.meta = m
	n := 0
	_, _ = fmt.Sscan(r.tags["resumed"], &n) // absent: 0
	tags := map[string]string{"resumed": fmt.Sprint(n + 1)}
	if now := ReadBuild(); now.RevisionString() != m.Env.Convirt.RevisionString() {
		tags[TagResumedRevision] = now.RevisionString()
	}
	r.mu.Unlock()
	return r.SetTags(tags)
}
