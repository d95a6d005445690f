package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// SynthCorpus writes the synthetic corpus a recipe's data.synth asks for.
// The host does not know how the corpus is drawn: cmd/convirt hands in the
// writer (plugins/datasets/synth) through Options.Synth.
type SynthCorpus struct {
	// Version is the version of the corpus the writer draws; it is recorded
	// in the corpus with the settings, so that a later run reuses a corpus
	// only when they all match.
	Version int
	// Write writes pairs image-report pairs (studies) of size px, drawn
	// from seed, into dir, calling step after each image.
	Write func(ctx context.Context, dir string, pairs, size int, seed int64, step func()) error
	// Items is how many times Write calls step for pairs and seed: the
	// progress bar's total (nil: unknown).
	Items func(pairs int, seed int64) int64
}

// synthMarker records, inside a synthetic corpus, the settings it was
// written with, so a later run reuses it only when they match.
const synthMarker = ".convirt-synth.json"

// synthStamp is the content of synthMarker.
type synthStamp struct {
	Version int   `json:"version"` // SynthCorpus.Version
	Pairs   int   `json:"pairs"`
	Size    int   `json:"size"`
	Seed    int64 `json:"seed"`
}

// synth writes the recipe's synthetic corpus unless an identical one is
// already there. The corpus is written under a temporary name next to its
// root and renamed into place, so an interrupted run never leaves half a
// corpus that a later run would take for a whole one.
func (s *session) synth(ctx context.Context) error {
	c := s.r.Data.Synth
	if c == nil {
		return nil
	}
	w := s.opt.Synth
	if w == nil || w.Write == nil {
		return errors.New("the recipe asks for a synthetic corpus (data.synth), but this program was given no corpus writer (experiment.Options.Synth)")
	}
	want := synthStamp{Version: w.Version, Pairs: c.Pairs, Size: c.Size, Seed: int64(c.Seed)}
	root := filepath.Clean(c.Root)
	if done, err := writtenCorpus(root, want); err != nil || done {
		if done {
			fmt.Fprintf(s.log, "synthetic corpus %s already written\n", root)
		}
		return err
	}
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return fmt.Errorf("data.synth.root %s exists and is not a synthetic corpus written by convirt (no %s): refusing to write into it", root, synthMarker)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), "."+filepath.Base(root)+".partial-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(s.opt.Progress, "writing the synthetic corpus (%d pairs, %d px) to %s\n", c.Pairs, c.Size, root)
	var total int64
	if w.Items != nil {
		total = w.Items(c.Pairs, int64(c.Seed))
	}
	bar := s.bar(total, "synthetic corpus", "images")
	err = w.Write(ctx, tmp, c.Pairs, c.Size, int64(c.Seed), func() { bar.Add(1) })
	bar.Finish()
	if err != nil {
		return err
	}
	stamp, err := json.Marshal(want)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(tmp, synthMarker), stamp, 0o644); err != nil {
		return err
	}
	_ = os.Remove(root) // an empty directory may stand in the way
	if err := os.Rename(tmp, root); err != nil {
		// Another run writing the same corpus (the other nodes of a run
		// on several hosts, sharing a file system) may have moved its
		// copy into place first.
		if done, _ := writtenCorpus(root, want); done {
			fmt.Fprintf(s.log, "synthetic corpus %s written meanwhile by another run\n", root)
			return nil
		}
		return fmt.Errorf("move the corpus into place: %w", err)
	}
	fmt.Fprintf(s.log, "wrote synthetic corpus %s in %s\n", root, time.Since(start).Round(time.Millisecond))
	return atomicfile.SyncDir(filepath.Dir(root))
}

// writtenCorpus reports whether root holds a whole synthetic corpus (its
// marker, written last), and errs when that corpus is not the one want
// describes.
func writtenCorpus(root string, want synthStamp) (bool, error) {
	b, err := os.ReadFile(filepath.Join(root, synthMarker))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	var have synthStamp
	if err := json.Unmarshal(b, &have); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(root, synthMarker), err)
	}
	if have != want {
		return false, fmt.Errorf("data.synth.root %s holds a corpus written with version=%d pairs=%d size=%d seed=%d, the recipe asks for version=%d pairs=%d size=%d seed=%d: delete it or choose another root",
			root, have.Version, have.Pairs, have.Size, have.Seed, want.Version, want.Pairs, want.Size, want.Seed)
	}
	return true, nil
}
