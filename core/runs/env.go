package runs

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strings"
	"time"
)

// Env is the environment a run was produced in. Git fields are empty when
// the working directory is not in a git checkout or git is not installed.
type Env struct {
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

// CaptureEnv records the current environment. dir is the directory in which
// git is asked for the commit (usually "." — the working tree the recipe
// runs from); extra is copied verbatim.
func CaptureEnv(dir string, extra map[string]string) Env {
	e := Env{
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
