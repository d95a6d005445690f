// Package prepare writes and reads a prepared image cache: every image of a
// dataset decoded once (JPEG, PNG or DICOM, windowed as the loader does),
// resized so its short side is a training-friendly size (256 by default)
// and stored as 8-bit grayscale PNG under ROOT/.convirt-prepared/SIZE/,
// mirroring the images' paths relative to the dataset root. A manifest,
// written last and atomically, marks the cache complete and records each
// original's size and modification time so stale copies are not used. An
// interrupted prepare leaves a journal and resumes where it stopped. The
// dataset plugin and the loader read through Cache.
package prepare

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/source"
	"golang.org/x/sync/errgroup"
)

// Options say what to prepare.
type Options struct {
	Dataset string   // catalogue name
	Root    string   // dataset root
	Splits  []string // nil: every split of the dataset
	Size    int      // short side of the copies; 0: DefaultSize
	Workers int      // converting goroutines; 0: GOMAXPROCS
	// Base is the folder that holds the caches, one per size; "" means
	// ROOT/.convirt-prepared. A dataset plugin finds a cache elsewhere
	// through its prepared_dir key.
	Base string
	// Progress, when set, is called once the images to convert are known,
	// with their number and a label, and returns the Bar that follows the
	// conversion; cmd/convirt draws a progress bar with it.
	Progress func(total int64, label string) Bar
	// OnImage, when set, is called from one goroutine after each image is
	// converted (err nil) or fails, with the original's path.
	OnImage func(path string, err error)
}

// Bar follows a conversion: Add after each image converted or failed,
// Finish when the conversion ends. A core/progress bar is one.
type Bar interface {
	Add(n int64)
	Finish()
}

// noBar is the Bar of a prepare without Options.Progress.
type noBar struct{}

func (noBar) Add(int64) {}
func (noBar) Finish()   {}

// Result says what a prepare did.
type Result struct {
	Dir       string           `json:"dir"`       // the cache folder
	Images    int              `json:"images"`    // distinct images of the splits
	Converted int              `json:"converted"` // images converted by this run
	Reused    int              `json:"reused"`    // images already prepared and still valid
	Failed    []source.Problem `json:"failed"`    // images that could not be read or converted
	Seconds   float64          `json:"seconds"`   // wall time of the conversion
}

// Run prepares the cache. Images that fail to decode are listed in
// Result.Failed and left out (the loader then reads, and fails on, the
// original); the error is for unusable options, unreadable index files,
// write failures and cancellation. Cancelled, it returns the context's
// error and writes no manifest; running it again resumes.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.Size < 8 {
		return Result{}, fmt.Errorf("prepare: size %d must be at least 8", o.Size)
	}
	d, err := catalog.Lookup(o.Dataset)
	if err != nil {
		return Result{}, fmt.Errorf("prepare: %w", err)
	}
	if o.Root == "" {
		return Result{}, errors.New("prepare: the dataset root is required")
	}
	res := Result{Dir: Dir(o.Base, o.Root, o.Size)}
	splits := o.Splits
	if len(splits) == 0 {
		splits = d.Splits
	}
	images, done, failed, err := collect(d, o.Root, splits, len(o.Splits) > 0)
	res.Failed = failed
	if err != nil {
		return res, err
	}
	res.Images = len(images)
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return res, fmt.Errorf("prepare: %w", err)
	}
	m, err := ReadManifest(res.Dir)
	if err != nil { // none yet, or unusable: start a new one
		m = &Manifest{Datasets: map[string][]string{}, Entries: map[string]Entry{}}
	}
	prev, err := readJournal(res.Dir)
	if err != nil {
		return res, fmt.Errorf("prepare: %s: %w", res.Dir, err)
	}
	for k, e := range m.Entries {
		if _, ok := prev[k]; !ok {
			prev[k] = e
		}
	}
	// Keep what is still valid: entries of other datasets or splits whose
	// copies are intact, and this run's images whose originals are unchanged.
	entries := map[string]Entry{}
	for k, e := range prev {
		if _, mine := images[k]; !mine && copyIntact(res.Dir, e) {
			entries[k] = e
		}
	}
	var todo []string
	for _, k := range slices.Sorted(maps.Keys(images)) {
		st, err := os.Stat(images[k])
		if err != nil {
			res.Failed = append(res.Failed, source.Problem{Path: images[k], Msg: err.Error()})
			continue
		}
		if e, ok := prev[k]; ok && e.SrcSize == st.Size() && e.SrcMtime == st.ModTime().UnixNano() && copyIntact(res.Dir, e) {
			entries[k] = e
			res.Reused++
			continue
		}
		todo = append(todo, k)
	}
	start := time.Now()
	conv, problems, err := convertAll(ctx, o, res.Dir, images, todo)
	res.Seconds = time.Since(start).Seconds()
	res.Converted = len(conv)
	res.Failed = append(res.Failed, problems...)
	if err != nil {
		return res, err
	}
	for k, e := range conv {
		entries[k] = e
	}
	absRoot, _ := filepath.Abs(o.Root)
	m.Version, m.Size, m.Format, m.Root, m.Created, m.Entries = Version, o.Size, Format, absRoot, time.Now().UTC(), entries
	m.Datasets[o.Dataset] = union(m.Datasets[o.Dataset], done)
	if err := writeManifest(res.Dir, m); err != nil {
		return res, fmt.Errorf("prepare: manifest: %w", err)
	}
	if err := os.Remove(filepath.Join(res.Dir, journalName)); err != nil && !os.IsNotExist(err) {
		return res, fmt.Errorf("prepare: %w", err)
	}
	return res, nil
}

// collect opens the splits and returns their distinct images (path
// relative to root, slash-separated -> path), the splits opened, and the
// problems met. A split that fails to open is an error when named
// (strict), a problem otherwise.
func collect(d catalog.Dataset, root string, splits []string, strict bool) (map[string]string, []string, []source.Problem, error) {
	images := map[string]string{}
	var opened []string
	var probs []source.Problem
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, sp := range splits {
		src, err := catalog.Open(d.Name, root, sp)
		if err != nil {
			if strict {
				return nil, nil, probs, fmt.Errorf("prepare: %w", err)
			}
			probs = append(probs, source.Problem{Path: root, Msg: fmt.Sprintf("split %q: %v", sp, err)})
			continue
		}
		opened = append(opened, sp)
		for i := range src.Len() {
			ex, _ := src.Example(i) // a bad report does not make a bad image
			if ex.ImagePath == "" {
				continue
			}
			abs, err := filepath.Abs(ex.ImagePath)
			if err != nil {
				return nil, nil, probs, err
			}
			rel, err := filepath.Rel(absRoot, abs)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				probs = append(probs, source.Problem{Path: ex.ImagePath, Msg: "outside the dataset root; not prepared"})
				continue
			}
			images[filepath.ToSlash(rel)] = abs
		}
	}
	return images, opened, probs, nil
}

// convertAll converts the images todo (keys of images) into dir with
// o.Workers goroutines, recording each in the journal as it is written.
func convertAll(ctx context.Context, o Options, dir string, images map[string]string, todo []string) (map[string]Entry, []source.Problem, error) {
	out := map[string]Entry{}
	var probs []source.Problem
	if len(todo) == 0 {
		return out, nil, ctx.Err()
	}
	j, err := openJournal(dir)
	if err != nil {
		return out, nil, fmt.Errorf("prepare: %w", err)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var bar Bar = noBar{}
	if o.Progress != nil {
		bar = o.Progress(int64(len(todo)), fmt.Sprintf("prepare %s %dpx", o.Dataset, o.Size))
	}
	type done struct {
		key string
		e   Entry
		err error
	}
	results := make(chan done)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	go func() {
		defer close(results)
		for _, k := range todo {
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				if err := gctx.Err(); err != nil {
					return err
				}
				e, err := Convert(images[k], dir, k+".png", o.Size)
				var fatal *writeError
				if errors.As(err, &fatal) {
					return err // disk full, permissions: stop
				}
				if err == nil {
					if err = j.add(k, e); err != nil {
						return fmt.Errorf("prepare: journal: %w", err)
					}
				}
				results <- done{k, e, err}
				return nil
			})
		}
		_ = g.Wait() // waits for the workers; the error is read again below
	}()
	for r := range results {
		bar.Add(1)
		if o.OnImage != nil {
			o.OnImage(images[r.key], r.err)
		}
		if r.err != nil {
			probs = append(probs, source.Problem{Path: images[r.key], Msg: r.err.Error()})
			continue
		}
		out[r.key] = r.e
	}
	bar.Finish()
	err = g.Wait()
	if cerr := j.close(); err == nil && cerr != nil {
		err = fmt.Errorf("prepare: journal: %w", cerr)
	}
	if err == nil {
		err = ctx.Err()
	}
	return out, probs, err
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
