package source

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStripFirstKeepsAbsolutePaths(t *testing.T) {
	for in, want := range map[string]string{
		"CheXpert-v1.0-small/train/p1/s1/v.jpg": "train/p1/s1/v.jpg",
		"./MURA-v1.1/train/x.png":               "train/x.png",
		"v.jpg":                                 "v.jpg",
		"/etc/passwd":                           "/etc/passwd",
		`\share\x.jpg`:                          `\share\x.jpg`,
	} {
		if got := StripFirst(in); got != want {
			t.Errorf("StripFirst(%q) = %q, want %q", in, got, want)
		}
	}
	_, err := Resolve("/data/root", StripFirst("/etc/passwd"))
	if !errors.Is(err, ErrEscapesRoot) || !strings.Contains(err.Error(), `"/etc/passwd" is absolute`) {
		t.Errorf("an absolute path resolves: %v", err)
	}
}

// symlink makes link point to target.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfine(t *testing.T) {
	base := t.TempDir()
	root, out := filepath.Join(base, "root"), filepath.Join(base, "out")
	write(t, filepath.Join(root, "a", "img.png"))
	write(t, filepath.Join(out, "secret.png"))
	write(t, filepath.Join(base, "root2", "sibling.png")) // shares root's name as a prefix
	symlink(t, filepath.Join(out, "secret.png"), filepath.Join(root, "file-out.png"))
	symlink(t, out, filepath.Join(root, "dir-out"))
	symlink(t, "a/img.png", filepath.Join(root, "file-in.png"))
	symlink(t, "../root2/sibling.png", filepath.Join(root, "prefix.png"))
	symlink(t, filepath.Join(out, "gone.png"), filepath.Join(root, "dangling.png"))
	symlink(t, "loop.png", filepath.Join(root, "loop.png"))
	alias := filepath.Join(base, "alias")
	symlink(t, root, alias)

	roots, err := RealDirs(alias) // the root as configured, through a link
	if err != nil {
		t.Fatal(err)
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	if len(roots) != 1 || roots[0] != realRoot {
		t.Fatalf("RealDirs(%s) = %v, want [%s]", alias, roots, realRoot)
	}
	for _, c := range []struct {
		rel, err string
	}{
		{"a/img.png", ""},
		{"file-in.png", ""},
		{"missing.png", ""},  // nothing to read: opening it says so
		{"dangling.png", ""}, // likewise
		{"file-out.png", "secret.png, outside"},
		{"dir-out/secret.png", "secret.png, outside"},
		{"prefix.png", "sibling.png, outside"},
		{"loop.png", "too many links"},
	} {
		path := filepath.Join(alias, c.rel)
		got, err := Confine(path, roots)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.rel, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), path)):
			t.Errorf("%s: err = %v, want it to name %s and say %q", c.rel, err, path, c.err)
		case c.err == "" && c.rel == "file-in.png" && got != filepath.Join(realRoot, "a", "img.png"):
			t.Errorf("%s resolves to %s", c.rel, got)
		}
		if strings.Contains(c.err, "outside") && !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("%s: %v is not ErrOutsideRoot", c.rel, err)
		}
	}
	// A second root admits what it holds.
	both, err := RealDirs(root, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Confine(filepath.Join(root, "file-out.png"), both); err != nil {
		t.Errorf("inside the second root: %v", err)
	}
}
