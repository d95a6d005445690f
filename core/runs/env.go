package runs

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Env is the environment a run was produced in.
//
// Two git states are kept apart: Convirt is the build of convirt itself
// (the commit its binary was built from, stamped at build time), and
// GitCommit/GitDirty are the working directory's checkout, i.e. the user's
// project holding the recipe. Both are also set as tags (TagConvirtRevision,
// TagProjectCommit, ...). The JSON keys git_commit and git_dirty predate
// the split and keep their meaning: the project's state.
type Env struct {
	// Convirt is the convirt binary's version and revision.
	Convirt Build `json:"convirt"`
	// GitCommit is HEAD of the project checkout the run was started in
	// (empty outside a git checkout or without git); GitDirty says its
	// tracked files had uncommitted changes.
	GitCommit string            `json:"git_commit,omitempty"`
	GitDirty  bool              `json:"git_dirty,omitempty"`
	GoVersion string            `json:"go_version"`
	OS        string            `json:"os"`
	Arch      string            `json:"arch"`
	Host      string            `json:"host"`
	User      string            `json:"user"`
	PID       int               `json:"pid"`
	Extra     map[string]string `json:"extra,omitempty"` // e.g. libtorch version, device, plugin checksums
}

// Provenance tags, set on every run at Create (tags.json, and from there
// MLflow): which convirt built the run and in which project it was started.
const (
	TagConvirtVersion  = "convirt.version"  // Build.Version
	TagConvirtRevision = "convirt.revision" // Build.Revision; absent when unknown
	TagConvirtDirty    = "convirt.dirty"    // "true"/"false", with the revision
	TagProjectCommit   = "project.git_commit"
	TagProjectDirty    = "project.git_dirty" // "true"/"false", with the commit
	// TagResumedRevision names the convirt revision that resumed a run, when
	// it differs from the one that created it.
	TagResumedRevision = "convirt.resumed_revision"
)

// ProvenanceTags returns e's convirt build and project git state as tags
// (see TagConvirtVersion); unknown values are left out.
func (e Env) ProvenanceTags() map[string]string {
	t := map[string]string{TagConvirtVersion: e.Convirt.Version}
	if e.Convirt.Revision != "" {
		t[TagConvirtRevision] = e.Convirt.Revision
		t[TagConvirtDirty] = strconv.FormatBool(e.Convirt.Modified)
	}
	if e.GitCommit != "" {
		t[TagProjectCommit] = e.GitCommit
		t[TagProjectDirty] = strconv.FormatBool(e.GitDirty)
	}
	return t
}

// CaptureEnv records the current environment. dir is the directory in which
// git is asked for the project's commit (usually "." — the working tree the
// recipe runs from); extra is copied verbatim. The convirt build comes from
// the binary (ReadBuild), not from dir.
func CaptureEnv(dir string, extra map[string]string) Env {
	e := Env{
		Convirt:   ReadBuild(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		PID:       os.Getpid(),
	}
	e.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		e.User = u.Username
	} else {
		e.User = os.Getenv("USER")
	}
	e.GitCommit, e.GitDirty = gitState(dir)
	if len(extra) > 0 {
		e.Extra = make(map[string]string, len(extra))
		for k, v := range extra {
			e.Extra[k] = v
		}
	}
	return e
}

// gitState returns the HEAD commit of the checkout containing dir and whether
// its working tree has uncommitted changes. Any failure (no git, not a
// repository, timeout) yields "", false.
func gitState(dir string) (commit string, dirty bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := gitCmd(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(out)
	st, err := gitCmd(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	return commit, err == nil && strings.TrimSpace(st) != ""
}

func gitCmd(ctx context.Context, dir string, args ...string) (string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}
