package runs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// ErrRunning is returned by Remove for a run whose status is running.
var ErrRunning = errors.New("run is running")

// removingPrefix names a run directory being removed. List skips it (it
// starts with '.'), so a run leaves the store in the one rename, and a
// removal cut short leaves only a hidden folder that Remove clears.
const removingPrefix = ".removing-"

// Removed is what Remove deleted.
type Removed struct {
	Meta
	Files FileInfo // the run directory: its size and number of files
}

// String says what was removed, e.g. "run 1a2b3c4d (demo, experiment
// demo, finished) runs/demo/1a2b3c4d-...: 12 files, 3.4 MB".
func (r Removed) String() string {
	name := ""
	if r.Name != "" {
		name = r.Name + ", "
	}
	return fmt.Sprintf("run %s (%sexperiment %s, %s) %s: %s, %s",
		ShortID(r.ID), name, r.Experiment, r.Status, r.Dir, plural(r.Files.Files, "file"), byteSize(r.Files.Size))
}

// Remove deletes the run directory m.Dir. It reads meta.json again first
// and refuses a run whose status is running (ErrRunning) unless force: the
// process may still be writing to it. The directory is renamed to a hidden
// name beside it and synced before anything is deleted, so the run leaves
// the store whole or not at all. A folder not named by the run's id (not
// made by Create) is refused. A leftover hidden folder of an earlier
// removal in the same experiment folder is deleted too.
func Remove(m Meta, force bool) (Removed, error) {
	cur, err := ReadMeta(m.Dir)
	if err != nil {
		return Removed{}, fmt.Errorf("remove run %s: %w", m.ID, err)
	}
	if cur.Status == Running && !force {
		return Removed{}, fmt.Errorf("remove run %s (%s): %w: process %d on %s started it %s; stop it first, or pass --force if it is gone",
			ShortID(cur.ID), m.Dir, ErrRunning, cur.Env.PID, cur.Env.Host, cur.StartTime.Local().Format("2006-01-02 15:04"))
	}
	abs, err := filepath.Abs(m.Dir)
	if err != nil {
		return Removed{}, fmt.Errorf("remove run %s: %w", m.ID, err)
	}
	if filepath.Base(abs) != cur.ID {
		// Create names every run folder by its id: anything else holding a
		// meta.json is not a run of a store, and is left alone.
		return Removed{}, fmt.Errorf("remove run %s: %s is not named by the run's id; not removing it", cur.ID, m.Dir)
	}
	out := Removed{Meta: cur, Files: FileInfo{Name: m.Dir, Dir: true}}
	if err := filepath.WalkDir(abs, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			out.Files.Size += info.Size()
			out.Files.Files++
		}
		return err
	}); err != nil {
		return Removed{}, fmt.Errorf("remove run %s: %w", m.ID, err)
	}
	parent := filepath.Dir(abs)
	gone := filepath.Join(parent, removingPrefix+filepath.Base(abs))
	if err := os.Rename(abs, gone); err != nil {
		return Removed{}, fmt.Errorf("remove run %s: %w", m.ID, err)
	}
	if err := atomicfile.SyncDir(parent); err != nil {
		return Removed{}, fmt.Errorf("remove run %s: %w", m.ID, err)
	}
	if err := clearRemoving(parent); err != nil {
		return out, fmt.Errorf("remove run %s: it is out of the store, but deleting its files failed: %w", m.ID, err)
	}
	return out, nil
}

// clearRemoving deletes every removal folder in dir.
func clearRemoving(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), removingPrefix) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
