package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

// The binary `make build` builds names the commit it was built from, also
// where the go command stamps nothing (GOFLAGS=-buildvcs=false, as on
// machines where git's ownership check would fail the build otherwise).
func TestMakeBuildStampsTheRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds convirt")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	head := func() string {
		cmd := exec.Command("git", "rev-parse", "HEAD")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("not a git checkout (%v)", err)
		}
		return strings.TrimSpace(string(out))
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := filepath.Join(t.TempDir(), "convirt")
	cmd := exec.Command("make", "-s", "-n", "build", "BIN="+bin)
	cmd.Dir = root
	plan, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	var line string
	for l := range strings.SplitSeq(string(plan), "\n") {
		if strings.Contains(l, " build ") && strings.Contains(l, "-o "+bin+" ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no go build of %s in make -n build:\n%s", bin, plan)
	}
	before := head()
	cmd = exec.Command("bash", "-c", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	after := head() // others may commit meanwhile: either is right
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("convirt version: %v\n%s", err, out)
	}
	var rev string
	for l := range strings.SplitSeq(string(out), "\n") {
		if r, ok := strings.CutPrefix(l, "revision "); ok {
			rev, _, _ = strings.Cut(r, " ")
			rev = strings.TrimSuffix(rev, "+dirty")
		}
	}
	if rev != before && rev != after {
		t.Errorf("convirt version says revision %q, the checkout is at %s:\n%s", rev, after, out)
	}
}

// `runs show` tells convirt's build apart from the project's git state.
func TestRunsShowProvenance(t *testing.T) {
	root := t.TempDir()
	r, err := runs.Create(root, "e", runs.Options{GitDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.Finish(runs.Finished)
	code, out, errs := runCLI(t, "runs", "show", "--dir", root, r.ID())
	if code != 0 {
		t.Fatalf("runs show: exit %d: %s", code, errs)
	}
	b := r.Meta().Env.Convirt
	for _, want := range []string{"convirt      " + b.Version + " " + b.RevisionString(), "project git  -"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs show lacks %q:\n%s", want, out)
		}
	}
}

// `runs push` of a run directory sends what the live run sent: the same
// artifacts with the same bytes, tags (provenance among them), params and
// metric values.
func TestPushSendsWhatTheLiveRunSent(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	live := mlflowtest.NewServer(t)
	dir, _, _, _ := runTracked(t, live.URL)
	pushed := mlflowtest.NewServer(t)
	t.Setenv("MLFLOW_TRACKING_URI", pushed.URL)
	if code, out, errs := runCLI(t, "runs", "push", "--force", dir); code != 0 {
		t.Fatalf("runs push: exit %d\n%s\n%s", code, out, errs)
	}
	lr, pr := live.OnlyRun(t), pushed.OnlyRun(t)

	la, pa := live.RunArtifacts(lr.Info.RunID), pushed.RunArtifacts(pr.Info.RunID)
	if ln, pn := slices.Sorted(maps.Keys(la)), slices.Sorted(maps.Keys(pa)); !slices.Equal(ln, pn) {
		t.Errorf("artifacts differ:\nlive   %q\npushed %q", ln, pn)
	}
	for name, b := range la {
		if p, ok := pa[name]; ok && !bytes.Equal(p, b) {
			t.Errorf("artifact %s: live %d bytes, pushed %d differ", name, len(b), len(p))
		}
	}
	for _, want := range []string{runs.ReportFile, runs.ResultsFile, runs.TablesFile, runs.ResolvedFile, "plots/loss.png"} {
		if _, ok := pa[want]; !ok {
			t.Errorf("push did not send %s", want)
		}
	}
	if !maps.Equal(lr.Tags, pr.Tags) {
		t.Errorf("tags differ:\nlive   %v\npushed %v", lr.Tags, pr.Tags)
	}
	if lr.Tags[runs.TagConvirtVersion] == "" {
		t.Errorf("no %s tag: %v", runs.TagConvirtVersion, lr.Tags)
	}
	if !maps.Equal(lr.Params, pr.Params) {
		t.Errorf("params differ:\nlive   %v\npushed %v", lr.Params, pr.Params)
	}
	same := func(a, b float64) bool { return a == b || a != a && b != b }
	if lk, pk := lr.MetricKeys(), pr.MetricKeys(); !slices.Equal(lk, pk) {
		t.Errorf("metrics differ:\nlive   %v\npushed %v", lk, pk)
	}
	for _, k := range lr.MetricKeys() {
		if !slices.EqualFunc(lr.Values(k), pr.Values(k), same) {
			t.Errorf("metric %s: live %v, pushed %v", k, lr.Values(k), pr.Values(k))
		}
	}
	if lr.Info.Status != pr.Info.Status || lr.Info.RunName != pr.Info.RunName {
		t.Errorf("run info: live %+v, pushed %+v", lr.Info, pr.Info)
	}
}
