package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

// mountTmpfs mounts a tmpfs of the given size at a new directory, or skips
// the test where mounting is not allowed (not root, no tmpfs).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// A full disk stops the run with one line naming the file and the cause,
// and leaves no half-written file in the run directory.
func TestRunDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	full := mountTmpfs(t, "size=1m")
	path, _ := writeTiny(t, func(y string) string {
		return strings.Replace(y, "output: "+runsPlaceholder(y), "output: "+full, 1)
	})
	code, _, errs := runCLI(t, "run", path)
	if code == 0 {
		t.Fatal("the run succeeded on a full disk")
	}
	last := lastLine(errs)
	t.Logf("the error: %s", last)
	if !strings.Contains(last, "no space left on device") {
		t.Fatalf("the error does not say the disk is full:\n%s", errs)
	}
	var leftovers []string
	filepath.Walk(full, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.Contains(filepath.Base(p), ".tmp") {
			leftovers = append(leftovers, p)
		}
		return nil
	})
	if len(leftovers) > 0 {
		t.Errorf("half-written files left: %v", leftovers)
	}
	metas, _ := filepath.Glob(filepath.Join(full, "e2e", "*", runs.MetaFile))
	for _, m := range metas {
		b, err := os.ReadFile(m)
		var meta runs.Meta
		if err != nil || json.Unmarshal(b, &meta) != nil {
			t.Errorf("%s unreadable after the failure: %v", m, err)
		}
	}
}

// A read-only output directory is refused in one line before anything runs.
func TestRunReadOnlyOutput(t *testing.T) {
	ro := mountTmpfs(t, "size=1m,ro")
	path, _ := writeTiny(t, func(y string) string {
		return strings.Replace(y, "output: "+runsPlaceholder(y), "output: "+ro, 1)
	})
	code, _, errs := runCLI(t, "run", path)
	if code == 0 || !strings.Contains(lastLine(errs), "read-only file system") || !strings.Contains(lastLine(errs), ro) {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

// runsPlaceholder returns the output value writeTiny put in a recipe.
func runsPlaceholder(y string) string {
	for _, l := range strings.Split(y, "\n") {
		if v, ok := strings.CutPrefix(l, "output: "); ok {
			return v
		}
	}
	return ""
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// A dataset root that does not exist stops the run in one line naming the
// plugin and the missing path.
func TestRunMissingDatasetRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	path, _ := writeTiny(t, nil)
	// Point the pretraining dataset's root somewhere that does not exist.
	b, _ := os.ReadFile(path)
	y := string(b)
	i := strings.Index(y, "plugin: mimic-cxr")
	j := strings.Index(y[i:], "root: ") + i + len("root: ")
	k := strings.IndexAny(y[j:], ",}") + j
	y = y[:j] + "/nonexistent/MIMIC-CXR" + y[k:]
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "run", path)
	last := lastLine(errs)
	if code == 0 || !strings.Contains(last, `plugin "mimic-cxr"`) || !strings.Contains(last, "/nonexistent/MIMIC-CXR") {
		t.Fatalf("exit %d, last line: %s", code, last)
	}
}
