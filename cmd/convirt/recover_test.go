package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// A run whose host is killed after its first checkpoint and continued with
// --resume, and a run one of whose plugin processes is killed mid-training,
// both end with the same encoders, hence the same results, as an
// uninterrupted run.
func TestRunRecoversToTheUninterruptedResult(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three times")
	}
	edit := func(y string) string {
		y = strings.Replace(y, "max_steps: 4", "max_steps: 6", 1)
		return strings.Replace(y, "inits: [convirt, random]", "inits: [convirt]", 1)
	}
	path, runsDir := writeTiny(t, edit)
	if code, out, errs := runCLI(t, "run", path); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s\n%s", code, out, errs)
	}
	first := runDirs(t, runsDir, "e2e")[0]
	want, err := results.Read(filepath.Join(first, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{first: true}
	// newRun waits for the next run directory to hold a checkpoint.
	newRun := func(ctx context.Context) string {
		for ctx.Err() == nil {
			for _, d := range runDirs(t, runsDir, "e2e") {
				if cks, _ := filepath.Glob(filepath.Join(d, "checkpoints", "step-*.ckpt")); !seen[d] && len(cks) > 0 {
					seen[d] = true
					return d
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		return ""
	}
	same := func(dir string) {
		t.Helper()
		got, err := results.Read(filepath.Join(dir, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Entries) != len(want.Entries) {
			t.Fatalf("%d entries, uninterrupted %d", len(got.Entries), len(want.Entries))
		}
		for i, w := range want.Entries {
			if got.Entries[i].Mean != w.Mean {
				t.Errorf("%s/%s/%s: %v, uninterrupted %v", w.Protocol, w.Init, w.Metric, got.Entries[i].Mean, w.Mean)
			}
		}
		if m, err := runs.ReadMeta(dir); err != nil || m.Status != runs.Finished {
			t.Errorf("run status %q (%v)", m.Status, err)
		}
	}

	t.Run("host killed, then --resume", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dirc := make(chan string, 1)
		go func() { d := newRun(ctx); cancel(); dirc <- d }()
		var out, errb bytes.Buffer
		if code := run(ctx, []string{"run", path}, &out, &errb); code == 0 {
			t.Fatalf("the killed run reported success:\n%s", errb.String())
		}
		killed := <-dirc
		if _, err := os.Stat(filepath.Join(killed, "results.json")); err == nil {
			t.Fatal("the run was killed after evaluating, not during pretraining")
		}
		if code, out, errs := runCLI(t, "run", "--resume", killed); code != 0 {
			t.Fatalf("--resume: exit %d\n%s\n%s", code, out, errs)
		}
		same(killed)
	})

	t.Run("plugin killed mid-training", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		type kill struct {
			dir string
			pid int
		}
		killed := make(chan kill, 1)
		go func() {
			d := newRun(ctx)
			killed <- kill{d, killChild(t, "bert")}
		}()
		code, out, errs := runCLI(t, "run", path)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		k := <-killed
		if k.pid == 0 {
			t.Fatal("found no bert plugin process to kill")
		}
		if !strings.Contains(errs, `plugin "bert" died`) {
			t.Errorf("the restart is not reported:\n%s", errs)
		}
		log, _ := os.ReadFile(filepath.Join(k.dir, "logs", "run.log"))
		if !strings.Contains(string(log), "restarting the plugins and resuming from the newest checkpoint") {
			t.Errorf("run.log does not record the restart")
		}
		// The restarted attempt rewound the record to its checkpoint: one
		// value of each step, the restart counted.
		raw, _ := os.ReadFile(filepath.Join(k.dir, runs.MetricsFile))
		if !bytes.Contains(raw, []byte(`{"rewind":`)) {
			t.Errorf("metrics.jsonl has no rewind marker where the restarted attempt began")
		}
		ms, err := runs.ReadMetrics(k.dir)
		if err != nil {
			t.Fatal(err)
		}
		var steps []int64
		for _, m := range runs.History(ms, "train/loss") {
			steps = append(steps, m.Step)
		}
		if want := []int64{1, 2, 3, 4, 5, 6}; !slices.Equal(steps, want) {
			t.Errorf("train/loss logged at steps %v, want %v", steps, want)
		}
		if r := runs.Final(ms)["train/restarts"]; r.Value != 1 {
			t.Errorf("train/restarts %+v, want 1", r)
		}
		same(k.dir)
	})
}

// killChild SIGKILLs this process's child serving the built-in name and
// returns its pid, or 0 when there is none.
func killChild(t *testing.T, name string) int {
	t.Helper()
	for _, p := range procs.Children(os.Getpid()) {
		if p.Plugin() == name && syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			return p.PID
		}
	}
	return 0
}
