package soak

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// fakeRunEnv makes the test binary act as `convirt run`: it writes a
// finished run whose checkpoint and results depend on the value of the env
// variable (so two runs agree or differ as a test wants).
const fakeRunEnv = "CONVIRT_SOAK_TEST_FAKE_RUN"

func TestMain(m *testing.M) {
	if v := os.Getenv(fakeRunEnv); v != "" {
		if err := fakeRun(os.Args[1:], v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeRun writes a run under the `--set output=DIR` of args, as `convirt
// run` lays one out: meta.json, a final checkpoint, results.json.
func fakeRun(args []string, value string) error {
	if len(args) < 2 || args[0] != "run" {
		return fmt.Errorf("fake run: args %q", args)
	}
	dir := filepath.Join(argValue(args, "output="), "demo", "run-1")
	return writeRun(dir, value)
}

func writeRun(dir, value string) error {
	if err := os.MkdirAll(filepath.Join(dir, runs.CheckpointsDir), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte("{}"), 0o644); err != nil {
		return err
	}
	ck := &train.Checkpoint{Parts: map[string][]byte{"image": []byte(value), "text": []byte("t"), "loss": nil}}
	ck.State.Step = 120
	if err := train.Save(filepath.Join(dir, runs.CheckpointsDir), ck); err != nil {
		return err
	}
	mean := 0.9
	if value != "same" {
		mean = 0.8
	}
	return results.Write(filepath.Join(dir, "results.json"), &results.File{Entries: []results.Entry{
		{Task: "chexpert", Protocol: "linear", Init: "convirt", Metric: "auc", Fraction: 0.01, Mean: mean, Seeds: []uint64{0}, Values: []float64{mean}},
	}})
}

func TestArgValue(t *testing.T) {
	args := []string{"run", "r.yaml", "--set", "output=/a", "--set", "train.max_steps=3", "--set", "output=/b"}
	if got := argValue(args, "output="); got != "/b" {
		t.Errorf("argValue = %q, want the last one, /b", got)
	}
	if got := argValue(args, "seed="); got != "" {
		t.Errorf("argValue of an absent key = %q", got)
	}
}

// TestNewestRun picks the run whose meta.json is newest.
func TestNewestRun(t *testing.T) {
	root := t.TempDir()
	if _, err := newestRun(root); err == nil || !strings.Contains(err.Error(), "no run under "+root) {
		t.Errorf("empty root: %v", err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, name := range []string{"b", "a", "c"} {
		dir := filepath.Join(root, "exp", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		meta := filepath.Join(dir, "meta.json")
		if err := os.WriteFile(meta, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration([]int{2, 1, 0}[i]) * time.Hour) // b is newest
		if err := os.Chtimes(meta, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := newestRun(root); err != nil || got != filepath.Join(root, "exp", "b") {
		t.Errorf("newestRun = %q, %v; want exp/b", got, err)
	}
}

// TestCompare reports same runs as the same and names each difference of
// differing ones: the final state of a part and a result entry.
func TestCompare(t *testing.T) {
	root := t.TempDir()
	clean, same, other := filepath.Join(root, "clean"), filepath.Join(root, "same"), filepath.Join(root, "other")
	for dir, v := range map[string]string{clean: "same", same: "same", other: "other"} {
		if err := writeRun(dir, v); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	s := &soak{out: &out, killed: []string{"host", "image"}, hostStarts: 2}
	if err := s.compare(clean, same, 3*time.Second); err != nil {
		t.Fatalf("same runs: %v\n%s", err, out.String())
	}
	for _, want := range []string{"soak: kills survived 2 (host, image), plugin restarts 0, host starts 2, final checkpoints and 1 result entries compared, 0 differences, 3s",
		"soak: same results (undisturbed " + clean + ", disturbed " + same + ")"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := s.compare(clean, other, time.Second)
	if err == nil || !strings.Contains(err.Error(), "differ from the undisturbed run's (2 entries)") {
		t.Errorf("differing runs: %v", err)
	}
	for _, want := range []string{"  differs: final image state differs", "  differs: chexpert/linear/convirt/0.01 auc: 0.9 undisturbed, 0.8 disturbed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunWithoutKills drives the whole soak with the test binary as convirt
// and no kills: two runs, compared; a disturbed run that ends differently
// fails the soak.
func TestRunWithoutKills(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeRunEnv, "same")
	var out, errOut bytes.Buffer
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	o := Options{Exe: exe, Recipe: "recipes/demo.yaml", Out: t.TempDir(), Stdout: &out, Stderr: &errOut, Clock: fake}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("soak: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"soak: undisturbed run (" + o.Out + ")", "soak: disturbed run (0 plugin kills, 0 host kills)", "soak: same results",
		"0 differences, 0s"} { // timed on the fake clock, which stood still
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	o.PluginKills = -1
	if err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "negative kill counts") {
		t.Errorf("negative kills: %v", err)
	}
}
