// Package runs is the local run store: every run is a directory
// runs/<experiment>/<run-id>/ holding its metadata, params, tags, an
// append-only metrics log, logs, checkpoints, predictions, plots, artifacts
// and a report. It is the default tracker and needs nothing running; see
// docs/tracking.md for the layout and its crash-consistency guarantees.
package runs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
	"github.com/google/uuid"
)

// Status is the lifecycle state of a run.
type Status string

// Run states. A run is Running from Create until Finish.
const (
	Running  Status = "running"
	Finished Status = "finished"
	Failed   Status = "failed"
	Killed   Status = "killed"
)

// Files and subdirectories of a run directory.
const (
	MetaFile       = "meta.json"
	ParamsFile     = "params.json"
	TagsFile       = "tags.json"
	MetricsFile    = "metrics.jsonl"
	LogsDir        = "logs"
	CheckpointsDir = "checkpoints"
	PredictionsDir = "predictions"
	PlotsDir       = "plots"
	ArtifactsDir   = "artifacts"
)

var subdirs = []string{LogsDir, CheckpointsDir, PredictionsDir, PlotsDir, ArtifactsDir}

// Meta is the content of meta.json.
type Meta struct {
	ID         string    `json:"id"`
	Name       string    `json:"name,omitempty"`
	Experiment string    `json:"experiment"`
	ParentID   string    `json:"parent,omitempty"`
	Status     Status    `json:"status"`
	StartTime  time.Time `json:"start_time"`
	EndTime    time.Time `json:"end_time,omitzero"`
	Env        Env       `json:"env"`
	// Dir is where the run lives; it is filled when reading, not stored.
	Dir string `json:"-"`
}

// Duration is the run's wall time so far (up to now for a running run).
func (m Meta) Duration() time.Duration {
	if m.EndTime.IsZero() {
		return time.Since(m.StartTime)
	}
	return m.EndTime.Sub(m.StartTime)
}

// Options are the optional settings of Create.
type Options struct {
	Name     string            // human-readable run name
	ParentID string            // id of the parent run, for sweeps
	Tags     map[string]string // initial tags
	// EnvExtra is recorded in meta.json next to git/Go/host info: libtorch
	// version, device, plugin versions and checksums.
	EnvExtra map[string]string
	// GitDir is where git is asked for the project's commit; "" means ".".
	GitDir string
	// AllowText lets params and tags marked as patient text (see IsText)
	// be stored verbatim instead of redacted.
	AllowText bool
}

// Run is an open run directory. Its methods are safe for concurrent use.
type Run struct {
	dir       string
	allowText bool

	mu      sync.Mutex
	meta    Meta
	params  map[string]string
	tags    map[string]string
	mfile   *os.File
	mbuf    *bufio.Writer
	pending int // metric lines written to mbuf since the last flush
}

// Create makes a new run directory root/experiment/<uuid>/ with its
// metadata, empty params, its tags (opts.Tags and the provenance tags of
// Env.ProvenanceTags, which win), and its subdirectories. The directory is
// assembled under a temporary name and renamed into place, so a crash never
// leaves a run directory without meta.json.
func Create(root, experiment string, opts Options) (*Run, error) {
	if err := ValidName(experiment); err != nil {
		return nil, fmt.Errorf("create run: experiment %q: %w", experiment, err)
	}
	id := uuid.NewString()
	expDir := filepath.Join(root, experiment)
	if err := os.MkdirAll(expDir, 0o755); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	tmp, err := os.MkdirTemp(expDir, ".creating-")
	if err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	gitDir := opts.GitDir
	if gitDir == "" {
		gitDir = "."
	}
	r := &Run{
		dir:       filepath.Join(expDir, id),
		allowText: opts.AllowText,
		params:    map[string]string{},
		tags:      RedactText(opts.Tags, opts.AllowText),
		meta: Meta{
			ID: id, Name: opts.Name, Experiment: experiment, ParentID: opts.ParentID,
			Status: Running, StartTime: time.Now().UTC(),
			Env: CaptureEnv(gitDir, opts.EnvExtra),
		},
	}
	if r.tags == nil {
		r.tags = map[string]string{}
	}
	for k, v := range r.meta.Env.ProvenanceTags() {
		r.tags[k] = v
	}
	if err := r.populate(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create run in %s: %w", expDir, err)
	}
	if err := os.Rename(tmp, r.dir); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create run: %w", err)
	}
	if err := atomicfile.SyncDir(expDir); err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	r.meta.Dir = r.dir
	return r, nil
}

func (r *Run) populate(dir string) error {
	for _, s := range subdirs {
		if err := os.Mkdir(filepath.Join(dir, s), 0o755); err != nil {
			return err
		}
	}
	for name, v := range map[string]any{MetaFile: r.meta, ParamsFile: r.params, TagsFile: r.tags} {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, MetricsFile), nil, 0o644)
}

// Open opens an existing run directory, e.g. to add an artifact or a
// report after the run has finished.
func Open(dir string) (*Run, error) {
	m, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{dir: dir, meta: m}
	if r.params, err = readStringMap(filepath.Join(dir, ParamsFile)); err != nil {
		return nil, err
	}
	if r.tags, err = readStringMap(filepath.Join(dir, TagsFile)); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadMeta reads dir/meta.json.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, fmt.Errorf("open run: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("open run: %s: %w", filepath.Join(dir, MetaFile), err)
	}
	m.Dir = dir
	return m, nil
}

// ID is the run's uuid.
func (r *Run) ID() string { return r.meta.ID }

// Dir is the run's directory.
func (r *Run) Dir() string { return r.dir }

// Path joins rel to the run directory, e.g. r.Path(runs.CheckpointsDir, "step-100.pt").
func (r *Run) Path(rel ...string) string { return filepath.Join(append([]string{r.dir}, rel...)...) }

// Meta returns a copy of the run's metadata.
func (r *Run) Meta() Meta {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.meta
}

// Params returns a copy of the logged params.
func (r *Run) Params() map[string]string { r.mu.Lock(); defer r.mu.Unlock(); return clone(r.params) }

// Tags returns a copy of the run's tags.
func (r *Run) Tags() map[string]string { r.mu.Lock(); defer r.mu.Unlock(); return clone(r.tags) }

// WriteFileAtomic writes data to rel inside the run directory atomically
// (see plugins/sdk/atomicfile). rel must stay inside the run.
func (r *Run) WriteFileAtomic(rel string, data []byte) error {
	p, err := r.inside(rel)
	if err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o644)
}

func (r *Run) inside(rel string) (string, error) {
	clean := filepath.Clean(rel)
	if rel == "" || filepath.IsAbs(rel) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("run %s: path %q is not inside the run directory", r.meta.ID, rel)
	}
	return filepath.Join(r.dir, clean), nil
}

// ValidName checks an experiment name: runs are stored in
// output/experiment/<run-id>/, so it must be a plain directory name not
// starting with '.'. Recipe validation applies the same rule.
func ValidName(s string) error {
	switch {
	case s == "":
		return errors.New("empty name")
	case s == "." || s == "..", strings.ContainsAny(s, `/\`), strings.HasPrefix(s, "."):
		return errors.New("must be a plain directory name not starting with '.'")
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

func readStringMap(path string) (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open run: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("open run: %s: %w", path, err)
	}
	return m, nil
}

// clone copies m into a new map, never nil (so that it is written as {}).
func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	maps.Copy(c, m)
	return c
}
