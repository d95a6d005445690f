package runs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stamp sets the link-time build values for the test, as
// `make build`'s -ldflags -X would.
func stamp(t *testing.T, revision, modified, time string) {
	t.Helper()
	old := [3]string{linkRevision, linkModified, linkTime}
	linkRevision, linkModified, linkTime = revision, modified, time
	t.Cleanup(func() { linkRevision, linkModified, linkTime = old[0], old[1], old[2] })
}

// gitProject makes a git repository with one commit and returns its
// directory and HEAD.
func gitProject(t *testing.T) (dir, head string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir = t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "recipe.yaml")
	git("commit", "-q", "-m", "recipe")
	return dir, git("rev-parse", "HEAD")
}

// A run records convirt's own build (from the binary) apart from the git
// state of the project it was started in, in meta.json and as tags; a
// caller's tag cannot forge them.
func TestRunRecordsConvirtBuildApartFromProject(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	stamp(t, rev, "true", "2026-01-02T03:04:05Z")
	project, head := gitProject(t)
	if head == rev {
		t.Fatal("the check is void: project and convirt share a commit")
	}
	r, err := Create(t.TempDir(), "e", Options{GitDir: project, Tags: map[string]string{TagConvirtRevision: "forged", "seed": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadMeta(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	c := m.Env.Convirt
	if c.Revision != rev || !c.Modified || c.Time != "2026-01-02T03:04:05Z" || c.Version == "" || c.GoVersion == "" {
		t.Errorf("meta.json env.convirt = %+v, want revision %s, modified", c, rev)
	}
	if m.Env.GitCommit != head || m.Env.GitDirty {
		t.Errorf("meta.json env.git_commit = %q dirty %v, want the project's %s, clean", m.Env.GitCommit, m.Env.GitDirty, head)
	}
	want := map[string]string{TagConvirtRevision: rev, TagConvirtDirty: "true", TagConvirtVersion: c.Version,
		TagProjectCommit: head, TagProjectDirty: "false", "seed": "1"}
	reopened, err := Open(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got := reopened.Tags()[k]; got != v {
			t.Errorf("tag %s = %q, want %q", k, got, v)
		}
	}
	// Readers of the old layout find the project's commit where it was.
	b, _ := os.ReadFile(filepath.Join(r.Dir(), MetaFile))
	if !strings.Contains(string(b), `"git_commit": "`+head+`"`) || !strings.Contains(string(b), `"revision": "`+rev+`"`) {
		t.Errorf("meta.json:\n%s", b)
	}

	// Outside a checkout: no project tags, convirt's are still there.
	r2, err := Create(t.TempDir(), "e", Options{GitDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tags := r2.Tags()
	if _, ok := tags[TagProjectCommit]; ok || tags[TagConvirtRevision] != rev {
		t.Errorf("outside a checkout: tags %v", tags)
	}
}

// A run resumed by another convirt says so; the same convirt adds nothing.
func TestReopenRecordsAnotherRevision(t *testing.T) {
	stamp(t, "aaaa", "false", "")
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Finish(Killed)
	if err := r.Reopen(); err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Tags()[TagResumedRevision]; ok {
		t.Errorf("resumed by the same build: %s = %q", TagResumedRevision, v)
	}
	r.Finish(Killed)
	stamp(t, "bbbb", "true", "")
	if err := r.Reopen(); err != nil {
		t.Fatal(err)
	}
	if got := r.Tags()[TagResumedRevision]; got != "bbbb+dirty" {
		t.Errorf("%s = %q, want bbbb+dirty", TagResumedRevision, got)
	}
	if got := r.Tags()[TagConvirtRevision]; got != "aaaa" {
		t.Errorf("%s = %q, want the creating build's aaaa", TagConvirtRevision, got)
	}
}

func TestBuildLinkValuesAndRevisionString(t *testing.T) {
	vcs := Build{Version: "v1.2.3", Revision: "vcsrev", Modified: true, Time: "t0"}
	for _, c := range []struct {
		rev, mod, time string
		want           Build
		str            string
	}{
		{"", "", "", vcs, "vcsrev+dirty"}, // no stamp: the go command's
		{"abc", "false", "t1", Build{Version: "v1.2.3", Revision: "abc", Time: "t1"}, "abc"}, // the stamp wins, whole
		{"abc", "true", "", Build{Version: "v1.2.3", Revision: "abc", Modified: true}, "abc+dirty"},
	} {
		got := vcs.withLink(c.rev, c.mod, c.time)
		if got != c.want || got.RevisionString() != c.str {
			t.Errorf("withLink(%q, %q, %q) = %+v %q, want %+v %q", c.rev, c.mod, c.time, got, got.RevisionString(), c.want, c.str)
		}
	}
	if s := (Build{}).RevisionString(); s != "unknown" {
		t.Errorf("no revision: %q", s)
	}
}
