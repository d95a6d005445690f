// Package version is what `convirt version` (and `convirt --version`)
// prints: convirt's version and the commit it was built from
// (core/runs.ReadBuild, stamped by `make build`), the Go toolchain, the
// libtorch this process loaded and whether it can use CUDA. It sits with
// the CLI because it asks gotch, an implementation, about CUDA.
package version

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/torchbuild"
	"github.com/sugarme/gotch"
)

// Print writes the version report of the running binary.
func Print(w io.Writer) {
	lt, dir := LoadedLibtorch()
	Write(w, runs.ReadBuild(), lt, dir)
	WriteCUDA(w, gotch.CUDA.IsAvailable(), gotch.CUDA.DeviceCount())
}

// Write prints b (and the libtorch version when known) one item a line,
// the item first (a build without a stamped version says so and how to
// stamp one, rather than Go's bare "(devel)"):
//
//	convirt  v0.1.0-3-gabcdef1-dirty
//	revision abcdef1234567890abcdef1234567890abcdef12+dirty (2026-01-01T12:00:00Z)
//	go       go1.26.0 linux/amd64
//	libtorch 1.13.0 (/usr/lib/x86_64-linux-gnu)
func Write(w io.Writer, b runs.Build, libtorch, libDir string) {
	v := b.Version
	if v == "(devel)" { // a plain go build
		v = "devel (unstamped: `make build` stamps the version)"
	}
	fmt.Fprintf(w, "convirt  %s\n", v)
	rev := b.RevisionString()
	if b.Time != "" {
		rev += " (" + b.Time + ")"
	}
	fmt.Fprintf(w, "revision %s\n", rev)
	fmt.Fprintf(w, "go       %s %s/%s\n", b.GoVersion, runtime.GOOS, runtime.GOARCH)
	if libtorch != "" {
		fmt.Fprintf(w, "libtorch %s (%s)\n", libtorch, libDir)
	}
}

// WriteCUDA prints whether libtorch can use a GPU (Debian's libtorch is
// built for the CPU only: no).
func WriteCUDA(w io.Writer, available bool, devices int64) {
	if !available {
		fmt.Fprintln(w, "cuda     no")
		return
	}
	fmt.Fprintf(w, "cuda     yes, %d device(s)\n", devices)
}

// soVersion is the version a shared library's file name carries
// (libtorch_cpu.so.1.13.0, as Debian installs it).
var soVersion = regexp.MustCompile(`\.so\.(\d+\.\d+(?:\.\d+)?)$`)

// LoadedLibtorch returns the version and directory of the libtorch this
// process has loaded, read from /proc/self/maps: the version in the
// library's file name, else torch/version.h of the LIBTORCH directory
// around it. Both are "" when it cannot tell (no /proc, libtorch not
// loaded, headers absent).
func LoadedLibtorch() (version, dir string) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		p := fields[len(fields)-1]
		if !strings.HasPrefix(filepath.Base(p), "libtorch_cpu.so") {
			continue
		}
		dir = filepath.Dir(p)
		if m := soVersion.FindStringSubmatch(p); m != nil {
			return m[1], dir
		}
		if lt, err := torchbuild.Locate(filepath.Dir(dir)); err == nil {
			return lt.Version, dir
		}
		return "", dir
	}
	return "", ""
}
