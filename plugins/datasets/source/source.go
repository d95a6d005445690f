// Package source holds the types every dataset shares: an Example (one image
// with its texts and labels), the Source interface each dataset implements,
// Problems (bad samples and malformed rows, with file and line), and the
// helpers that resolve paths found in index files without escaping the
// dataset root.
package source

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strings"
)

// Task names what a dataset's labels mean.
type Task string

// Tasks.
const (
	Paired     Task = "paired"     // image-text pairs, labels optional
	Binary     Task = "binary"     // one label, 0 or 1
	Multilabel Task = "multilabel" // several independent 0/1 labels
	Multiclass Task = "multiclass" // one-hot over LabelNames
)

// Example is one sample: an image with its texts and labels.
type Example struct {
	// ID identifies the sample within its dataset (e.g. a dicom_id); it also
	// seeds the sample's augmentation.
	ID string
	// ImagePath is the absolute path of the image file (JPEG, PNG or DICOM).
	ImagePath string
	// Texts are the sentences of the paired report (Findings + Impression),
	// or the text of a text query. Empty for image-only datasets.
	Texts []string
	// Report is the report text the sentences came from.
	Report string
	// Labels has one value per LabelNames entry; NaN where the label is
	// ignored (missing or uncertain under the ignore policy).
	Labels []float32
	// Group is the unit that must not cross splits or subsets (patient or
	// study); empty when unknown.
	Group string
}

// Source is a dataset split: an indexable list of examples.
type Source interface {
	// Len is the number of examples.
	Len() int
	// Example returns example i; an error marks a bad sample (its path is in
	// the error) that callers skip and count.
	Example(i int) (Example, error)
	// LabelNames names the entries of Example.Labels.
	LabelNames() []string
	// Task says what the labels mean.
	Task() Task
	// Problems lists what was skipped while indexing (malformed rows,
	// missing files, unknown labels).
	Problems() []Problem
}

// Problem is one bad row or sample, located by file and line (0 when the
// problem is not tied to a line).
type Problem struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"msg"`
}

// Error formats the problem as path:line: msg.
func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Msg)
}

// ErrEscapesRoot is returned for a path in an index file that would resolve
// outside the dataset root.
var ErrEscapesRoot = errors.New("path escapes the dataset root")

// Resolve joins rel (a slash-separated path from an index file) to root and
// refuses absolute paths and paths that climb out of root.
func Resolve(root, rel string) (string, error) {
	if rel == "" {
		return "", errors.New("empty path")
	}
	if isAbs(rel) {
		return "", fmt.Errorf("%w: %q is absolute", ErrEscapesRoot, rel)
	}
	clean := filepath.Clean(filepath.FromSlash(rel))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %q", ErrEscapesRoot, rel)
	}
	return filepath.Join(root, clean), nil
}

// StripFirst removes the first element of a slash-separated path, e.g. the
// "CheXpert-v1.0-small/" prefix that index files carry, so that the rest can
// be resolved against the dataset folder whatever it is named locally. An
// absolute path is returned unchanged, for Resolve to refuse by name: its
// first element is no dataset folder, and dropping it would silently move
// the path under the root.
func StripFirst(rel string) string {
	if isAbs(rel) {
		return rel
	}
	rel = strings.TrimPrefix(rel, "./")
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

func isAbs(rel string) bool {
	return filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`)
}

// ErrOutsideRoot is returned for a file whose path, symlinks resolved,
// leaves every directory it may be read from.
var ErrOutsideRoot = errors.New("resolves outside the dataset root")

// RealDirs resolves dirs with filepath.EvalSymlinks, for Confine.
func RealDirs(dirs ...string) ([]string, error) {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		r, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Confine resolves every symlink of path and returns the resulting real
// path when it lies inside one of roots (real paths, see RealDirs), or an
// error wrapping ErrOutsideRoot that names path and where it leads. A path
// that does not exist (or leads through a dangling link) is returned as
// given: there is nothing to read, and opening it reports that.
func Confine(path string, roots []string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range roots {
		if within(r, real) {
			return real, nil
		}
	}
	return "", fmt.Errorf("%s: %w: it leads to %s, outside %s", path, ErrOutsideRoot, real, strings.Join(roots, " and "))
}

// within reports whether path is dir or lies under it (both clean and
// absolute).
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// NaN is the label value of an ignored label.
var NaN = float32(math.NaN())

// IsNaN reports whether a label value is ignored.
func IsNaN(v float32) bool { return v != v }

// Slice is a Source over a fixed list of examples, used by datasets that
// index everything at open time.
type Slice struct {
	Examples []Example
	Names    []string
	Kind     Task
	Issues   []Problem
	// Check, when set, validates an example on access (e.g. that its report
	// is non-empty UTF-8); its error marks the sample bad.
	Check func(Example) (Example, error)
}

// Len implements Source.
func (s *Slice) Len() int { return len(s.Examples) }

// Example implements Source.
func (s *Slice) Example(i int) (Example, error) {
	if i < 0 || i >= len(s.Examples) {
		return Example{}, fmt.Errorf("example %d out of range [0,%d)", i, len(s.Examples))
	}
	ex := s.Examples[i]
	if s.Check != nil {
		return s.Check(ex)
	}
	return ex, nil
}

// LabelNames implements Source.
func (s *Slice) LabelNames() []string { return s.Names }

// Task implements Source.
func (s *Slice) Task() Task { return s.Kind }

// Problems implements Source.
func (s *Slice) Problems() []Problem { return s.Issues }
