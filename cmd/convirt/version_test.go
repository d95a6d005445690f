package main

import (
	"os/exec"
	"strings"
	"testing"
)

// `convirt version` says whether CUDA is available, as libtorch tells it.
func TestVersionSaysCUDA(t *testing.T) {
	code, out, errs := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "\ncuda     ") {
		t.Fatalf("convirt version: exit %d, no cuda line:\n%s%s", code, out, errs)
	}
}

// `make build` stamps the version git describe gives (a tag, or the
// commit), unless CONVIRT_VERSION names one.
func TestMakeBuildStampsTheVersion(t *testing.T) {
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	describe := func() string {
		out, err := exec.Command("git", "-C", "../..", "describe", "--tags", "--always", "--dirty").Output()
		if err != nil {
			t.Skipf("not a git checkout (%v)", err)
		}
		return strings.TrimSpace(string(out))
	}
	stamped := func(args ...string) string {
		cmd := exec.Command("make", append([]string{"-s", "-n", "build", "BIN=/nonexistent/convirt"}, args...)...)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("make -n build: %v", err)
		}
		_, v, ok := strings.Cut(string(out), "core/runs.linkVersion=")
		if !ok {
			t.Fatalf("make -n build stamps no version:\n%s", out)
		}
		v, _, _ = strings.Cut(v, " ")
		return v
	}
	before := describe()
	got := stamped()
	after := describe() // others may commit or edit meanwhile: either is right
	if got != before && got != after {
		t.Errorf("make build stamps version %q, git describe says %q", got, after)
	}
	if got := stamped("CONVIRT_VERSION=v9.8.7"); got != "v9.8.7" {
		t.Errorf("make build CONVIRT_VERSION=v9.8.7 stamps %q", got)
	}
}
