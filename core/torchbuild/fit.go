package torchbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// GotchModule and GotchVersion name the gotch release the project is fitted to.
const (
	GotchModule  = "github.com/sugarme/gotch"
	GotchVersion = "v0.9.1"
	// fitterRevision changes whenever Fit's output would change for the same
	// inputs, so existing fitted copies are rebuilt.
	fitterRevision = "6"
)

// Options configures Fit.
type Options struct {
	// Repo is the project's root: go.work is written there.
	Repo string
	// Libtorch is a LIBTORCH directory, or "" for the Debian system install.
	Libtorch string
	// StubDir holds the per-version stub lists (core/torchbuild/stubs).
	StubDir string
	// Out is where the fitted module copy goes (.build/gotch).
	Out string
	// Log receives progress lines.
	Log io.Writer
	// Shims are the directories, relative to Repo, of the project's cgo
	// packages that compile C++ against libtorch; each gets ShimFile.
	Shims []string
}

// Fit makes Out a copy of gotch fitted to the chosen libtorch and points the
// project's go.work at it. It is idempotent: a copy already fitted to the same
// libtorch and stub list is kept as it is.
func Fit(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	lt, err := Locate(o.Libtorch)
	if err != nil {
		return err
	}
	if err := fitShims(o, lt); err != nil {
		return err
	}
	listPath := filepath.Join(o.StubDir, "libtorch-"+lt.Version+".txt")
	var names []string
	listText, err := os.ReadFile(listPath)
	haveList := err == nil
	if haveList {
		names = ParseStubList(string(listText))
	}
	stamp := stampOf(lt, listText)
	if old, err := os.ReadFile(filepath.Join(o.Out, ".convirt-fit")); err == nil && string(old) == stamp {
		return writeGoWork(o)
	}
	fmt.Fprintf(o.Log, "fitting gotch %s to libtorch %s (%s, cuda=%v)\n", GotchVersion, lt.Version, lt.LibDir, lt.CUDA)
	src, err := moduleDir(ctx)
	if err != nil {
		return err
	}
	tmp := o.Out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(src, tmp); err != nil {
		return fmt.Errorf("copy gotch: %w", err)
	}
	libtch := filepath.Join(tmp, "libtch")
	if err := os.WriteFile(filepath.Join(libtch, "lib.go"), []byte(lt.LibGo()), 0o644); err != nil {
		return err
	}
	genPath := filepath.Join(libtch, GeneratedFile)
	orig, err := os.ReadFile(genPath)
	if err != nil {
		return err
	}
	if !haveList {
		fmt.Fprintf(o.Log, "no stub list %s: finding the ops libtorch %s lacks by compiling\n", listPath, lt.Version)
		names, err = discover(ctx, lt, libtch, string(orig), o.Log)
		if err != nil {
			return err
		}
		listText = []byte(FormatStubList(lt.Version, names))
		if err := atomicfile.Write(listPath, listText, 0o644); err != nil {
			return fmt.Errorf("save stub list: %w", err)
		}
		fmt.Fprintf(o.Log, "wrote %s (%d ops)\n", listPath, len(names))
		stamp = stampOf(lt, listText)
	}
	stubbed, err := Stub(string(orig), names, lt.Version)
	if err != nil {
		return fmt.Errorf("%s: %w", listPath, err)
	}
	if err := os.WriteFile(genPath, []byte(stubbed), 0o644); err != nil {
		return err
	}
	patched, err := patchLeaks(tmp)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "patched gotch's handle leaks in %s\n", patched)
	if err := patchBallast(tmp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".convirt-fit"), []byte(stamp), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "fitted gotch in %s: %d ops stubbed\n", o.Out, len(names))
	return writeGoWork(o)
}

// fitShims writes ShimFile into o.Shims for lt, and says when lt ships no
// gloo headers (c10d's ProcessGroupGloo.hpp includes them), so the system's
// (Debian's libgloo-dev) would be used.
func fitShims(o Options, lt *Libtorch) error {
	dirs := make([]string, len(o.Shims))
	for i, d := range o.Shims {
		dirs[i] = filepath.Join(o.Repo, d)
	}
	if err := lt.WriteShims(dirs); err != nil {
		return err
	}
	if lt.Root != "" {
		if _, err := os.Stat(filepath.Join(lt.Includes[0], "gloo", "algorithm.h")); err != nil {
			fmt.Fprintf(o.Log, "note: %s has no gloo headers; c10d compiles against the system's (libgloo-dev)\n", lt.Includes[0])
		}
	}
	return nil
}

func stampOf(lt *Libtorch, list []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%v|%d|%s|", fitterRevision, lt.Root, lt.Version, lt.CUDA, lt.CXX11ABI, lt.LibDir)
	h.Write(list)
	return hex.EncodeToString(h.Sum(nil))
}

// discover compiles the wrapper, stubs every function the compiler rejects,
// and repeats until it compiles, returning the stubbed names.
func discover(ctx context.Context, lt *Libtorch, libtch, orig string, log io.Writer) ([]string, error) {
	funcs := ParseFuncs(orig)
	var names []string
	genPath := filepath.Join(libtch, GeneratedFile)
	for round := 1; round <= 6; round++ {
		src, err := Stub(orig, names, lt.Version)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(genPath, []byte(src), 0o644); err != nil {
			return nil, err
		}
		diag, ok, err := syntaxCheck(ctx, lt, libtch)
		if err != nil {
			return nil, err
		}
		if ok {
			return names, nil
		}
		failing := FailingFuncs(diag, funcs)
		fmt.Fprintf(log, "round %d: %d more ops fail to compile\n", round, len(failing))
		if len(failing) == 0 {
			return nil, fmt.Errorf("gotch's wrapper does not compile against libtorch %s, and not because of a missing op:\n%s", lt.Version, tail(diag, 40))
		}
		names = append(names, failing...)
	}
	return nil, fmt.Errorf("gotch's wrapper still fails to compile against libtorch %s after 6 rounds", lt.Version)
}

func syntaxCheck(ctx context.Context, lt *Libtorch, libtch string) (string, bool, error) {
	args := []string{"-std=c++17", "-fsyntax-only", "-w", fmt.Sprintf("-D_GLIBCXX_USE_CXX11_ABI=%d", lt.CXX11ABI), "-I" + libtch}
	for _, d := range lt.Includes {
		args = append(args, "-I"+d)
	}
	args = append(args, filepath.Join(libtch, "torch_api.cpp"))
	cmd := exec.CommandContext(ctx, "g++", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return "", true, nil
	}
	if _, ok := err.(*exec.ExitError); ok {
		return out.String(), false, nil
	}
	return "", false, fmt.Errorf("run g++: %w", err)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// moduleDir downloads gotch into the module cache (a no-op when present) and
// returns its directory there.
func moduleDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", GotchModule+"@"+GotchVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", GotchModule, GotchVersion, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", GotchModule, GotchVersion, info.Error)
	}
	return info.Dir, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func writeGoWork(o Options) error {
	rel, err := filepath.Rel(o.Repo, o.Out)
	if err != nil {
		return err
	}
	goVersion, err := goDirective(filepath.Join(o.Repo, "go.mod"))
	if err != nil {
		return err
	}
	text := fmt.Sprintf("// Written by cmd/fitgotch (make build); not committed.\ngo %s\n\nuse .\n\nreplace %s %s => ./%s\n",
		goVersion, GotchModule, GotchVersion, filepath.ToSlash(rel))
	path := filepath.Join(o.Repo, "go.work")
	if old, err := os.ReadFile(path); err == nil && string(old) == text {
		return nil
	}
	return atomicfile.Write(path, []byte(text), 0o644)
}

// goDirective returns the version on the go line of a go.mod file; go.work
// must name at least that version.
func goDirective(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "go" {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s: no go directive", gomod)
}
