package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/torchbuild"
)

// cgoLines returns the #cgo directives of the project's Go files (tests,
// generated shim flags and build outputs aside), by package directory
// relative to the repository root.
func cgoLines(t *testing.T, root string) map[string][]string {
	t.Helper()
	lines := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == torchbuild.ShimFile {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "//"))
			if strings.HasPrefix(l, "#cgo ") {
				lines[filepath.ToSlash(rel)] = append(lines[filepath.ToSlash(rel)], l)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestShimsListEveryLibtorchPackage checks that shims names exactly the
// project's packages that link libtorch themselves, so none is left with
// Debian's flags in a LIBTORCH build.
func TestShimsListEveryLibtorchPackage(t *testing.T) {
	var linking []string
	for dir, lines := range cgoLines(t, "../..") {
		for _, l := range lines {
			if strings.Contains(l, "LDFLAGS") && slices.Contains(strings.Fields(l), "-ltorch") {
				linking = append(linking, dir)
				break
			}
		}
	}
	slices.Sort(linking)
	want := slices.Sorted(slices.Values(shims))
	if !slices.Equal(linking, want) {
		t.Fatalf("packages linking -ltorch: %q; fitgotch's shims: %q", linking, want)
	}
}

// TestShimsCommittedFlagsYield checks that the shims' committed #cgo lines
// name nothing that would win over torchbuild.ShimFile's flags by the order
// the go tool reads files in: no -I (Debian's headers come with -isystem,
// after every -I), no C++ ABI define, no -L or rpath.
func TestShimsCommittedFlagsYield(t *testing.T) {
	lines := cgoLines(t, "../..")
	for _, dir := range shims {
		if len(lines[dir]) == 0 {
			t.Errorf("%s: no #cgo lines", dir)
		}
		for _, l := range lines[dir] {
			for _, f := range strings.Fields(l) {
				for _, bad := range []string{"-I", "-L", "-Wl,-rpath", "-D_GLIBCXX_USE_CXX11_ABI"} {
					if strings.HasPrefix(f, bad) {
						t.Errorf("%s: %q has %s, which a LIBTORCH build's %s could not override", dir, l, f, torchbuild.ShimFile)
					}
				}
			}
		}
	}
}
