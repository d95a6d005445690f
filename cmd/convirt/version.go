package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/torchbuild"
)

func init() {
	register(&command{
		Name:    "version",
		Short:   "print the convirt version, the commit it was built from, Go and libtorch versions (also convirt --version)",
		Example: "version",
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("version", stderr)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
			}
			lt, dir := loadedLibtorch()
			writeVersion(stdout, runs.ReadBuild(), lt, dir)
			return nil
		},
	})
}

// writeVersion prints b (and the libtorch version when known) one item a
// line, the item first:
//
//	convirt  v0.0.0-20260101120000-abcdef123456+dirty
//	revision abcdef1234567890abcdef1234567890abcdef12+dirty (2026-01-01T12:00:00Z)
//	go       go1.26.0 linux/amd64
//	libtorch 1.13.0 (/usr/lib/x86_64-linux-gnu)
func writeVersion(w io.Writer, b runs.Build, libtorch, libDir string) {
	fmt.Fprintf(w, "convirt  %s\n", b.Version)
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

// soVersion is the version a shared library's file name carries
// (libtorch_cpu.so.1.13.0, as Debian installs it).
var soVersion = regexp.MustCompile(`\.so\.(\d+\.\d+(?:\.\d+)?)$`)

// loadedLibtorch returns the version and directory of the libtorch this
// process has loaded, read from /proc/self/maps: the version in the
// library's file name, else torch/version.h of the LIBTORCH directory
// around it. Both are "" when it cannot tell (no /proc, libtorch not
// loaded, headers absent).
func loadedLibtorch() (version, dir string) {
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
