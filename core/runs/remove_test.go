package runs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemove(t *testing.T) {
	ms := listingRuns(t) // ms[3] is running
	// A removal cut short earlier left its hidden folder behind.
	leftover := filepath.Join("runs", "sweep", removingPrefix+"old")
	if err := os.MkdirAll(filepath.Join(leftover, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		run     Meta
		force   bool
		wantErr error
	}{
		{"finished", ms[0], false, nil},
		{"running refused", ms[3], false, ErrRunning},
		{"running forced", ms[3], true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Remove(c.run, c.force)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Remove: %v, want %v", err, c.wantErr)
			}
			_, statErr := os.Stat(c.run.Dir)
			if c.wantErr != nil {
				if statErr != nil || !strings.Contains(err.Error(), "pass --force") {
					t.Errorf("refused removal: %v; run dir: %v", err, statErr)
				}
				return
			}
			if !os.IsNotExist(statErr) {
				t.Errorf("run dir still there: %v", statErr)
			}
			if got.ID != c.run.ID || got.Files.Files < 4 || !strings.Contains(got.String(), "run "+ShortID(c.run.ID)+" ("+c.run.Name+", experiment "+c.run.Experiment) ||
				!strings.Contains(got.String(), c.run.Dir) {
				t.Errorf("removed %+v: %s", got, got)
			}
			if _, err := Find("runs", c.run.ID); err == nil {
				t.Error("removed run still found")
			}
		})
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover removal folder: %v", err)
	}
	left, err := List("runs", Filter{})
	if err != nil || len(left) != 2 {
		t.Errorf("left %d runs (%v), want 2", len(left), err)
	}
	if _, err := Remove(ms[0], false); err == nil || !strings.Contains(err.Error(), ms[0].ID) {
		t.Errorf("removing a removed run: %v", err)
	}
	// A copy of a run under another name is not a run folder of a store.
	copied := "copy"
	if err := os.CopyFS(copied, os.DirFS(ms[1].Dir)); err != nil {
		t.Fatal(err)
	}
	m, err := Find("runs", copied)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Remove(m, true); err == nil || !strings.Contains(err.Error(), "copy is not named by the run's id") {
		t.Errorf("removing a folder not named by its run's id: %v", err)
	}
	if _, err := os.Stat(filepath.Join(copied, MetaFile)); err != nil {
		t.Error(err)
	}
}
