package torchbuild_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/torchbuild"
)

// fakeLibtorch lays out a libtorch as pytorch.org's zip does (include/,
// lib/, share/cmake/Torch) under dir/name, built with the given C++ ABI.
func fakeLibtorch(t *testing.T, dir, name string, abi int) {
	t.Helper()
	root := filepath.Join(dir, name)
	files := map[string]string{
		"include/torch/csrc/api/include/torch/version.h": "#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 5\n#define TORCH_VERSION_PATCH 1\n",
		"lib/libtorch_cpu.so":                            "",
		"share/cmake/Torch/TorchConfig.cmake":            "set(TORCH_CXX_FLAGS \"-D_GLIBCXX_USE_CXX11_ABI=" + string(rune('0'+abi)) + "\")\n",
	}
	for p, text := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cgoFlags returns the fields of the "#cgo KIND:" line of a Go file's text.
func cgoFlags(t *testing.T, text, kind string) []string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, "// #cgo "+kind+": "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no #cgo %s line in\n%s", kind, text)
	return nil
}

// TestWriteShimsLibtorch fits a shim package to a LIBTORCH given as a
// relative path with the pre-cxx11 ABI: the generated file must name the
// package, that libtorch's absolute include directories, ABI, library
// directory and rpath, and be valid Go importing "C".
func TestWriteShimsLibtorch(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	fakeLibtorch(t, dir, "libtorch", 0)
	pkg := filepath.Join("plugins", "shim")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "shim.go"), []byte("// Package shim is a test shim.\npackage shim\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lt, err := torchbuild.Locate("libtorch")
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.WriteShims([]string{pkg}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(pkg, torchbuild.ShimFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	root := filepath.Join(dir, "libtorch")
	wantCXX := []string{"-D_GLIBCXX_USE_CXX11_ABI=0", "-I" + root + "/include", "-I" + root + "/include/torch/csrc/api/include"}
	if got := cgoFlags(t, text, "CXXFLAGS"); !slices.Equal(got, wantCXX) {
		t.Errorf("CXXFLAGS = %q, want %q", got, wantCXX)
	}
	wantLD := []string{"-L" + root + "/lib", "-Wl,-rpath," + root + "/lib"}
	if got := cgoFlags(t, text, "LDFLAGS"); !slices.Equal(got, wantLD) {
		t.Errorf("LDFLAGS = %q, want %q", got, wantLD)
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, b, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name.Name != "shim" || len(f.Imports) != 1 || f.Imports[0].Path.Value != `"C"` {
		t.Errorf("generated file is package %s importing %d packages, want package shim importing only \"C\"", f.Name.Name, len(f.Imports))
	}
	// gotch's libtch gets the same compile and link flags.
	lib := lt.LibGo()
	libFlags := append(cgoFlags(t, lib, "CXXFLAGS"), cgoFlags(t, lib, "LDFLAGS")...)
	for _, fl := range append(wantCXX, wantLD...) {
		if !slices.Contains(libFlags, fl) {
			t.Errorf("gotch's lib.go lacks %s:\n%s", fl, lib)
		}
	}

	// Fitting again to the same libtorch leaves the file alone (the go
	// tool's cache stays valid); fitting to Debian's removes it.
	before, _ := os.Stat(path)
	old := before.ModTime().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := lt.WriteShims([]string{pkg}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(old) {
		t.Errorf("refitting to the same libtorch rewrote %s", path)
	}
	debian := &torchbuild.Libtorch{}
	if err := debian.WriteShims([]string{pkg}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("fitting to Debian's libtorch left %s: %v", path, err)
	}
	if err := debian.WriteShims([]string{pkg}); err != nil {
		t.Errorf("fitting to Debian's libtorch twice: %v", err)
	}
}

// TestWriteShimsNoPackage names the directory that holds no Go package.
func TestWriteShimsNoPackage(t *testing.T) {
	dir := t.TempDir()
	fakeLibtorch(t, dir, "libtorch", 1)
	lt, err := torchbuild.Locate(filepath.Join(dir, "libtorch"))
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	err = lt.WriteShims([]string{empty})
	if err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("WriteShims on a directory without Go files: %v, want an error naming %s", err, empty)
	}
}
