package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/convirt/convirt/core/experiment"
	"github.com/convirt/convirt/core/runs"
)

// TestDataInspectMissingRoot: a root that is not there is an error naming
// it (it used to inspect as an empty dataset and exit 0).
func TestDataInspectMissingRoot(t *testing.T) {
	root := filepath.Join("testdata", "no-such-root")
	code, out, errs := runCLI(t, "data", "inspect", "--dataset", "chexpert", "--root", root)
	if code != 1 || !strings.Contains(errs, root) || !strings.Contains(errs, "no such file or directory") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// TestRunResumeRestartRepeatFlags: --restart is a run flag like --resume
// and --repeat, and they exclude each other.
func TestRunResumeRestartRepeatFlags(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--resume", "a", "--restart", "a"},
		{"run", "--restart", "a", "--repeat", "b"},
		{"run", "--restart", "a", "x.yaml"},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 || !strings.Contains(errs, "--resume, --restart and --repeat take a run directory and nothing else") {
			t.Errorf("%q: exit %d\n%s", args, code, errs)
		}
	}
}

// TestRunInterruptedThenResumed interrupts a pretraining run as SIGINT or
// SIGTERM does (main cancels run's context): the run is killed with a
// checkpoint and the exact command that continues it, with no "context
// canceled" chain; that command finishes it, and --resume of the finished
// run is refused with a pointer to --repeat.
func TestRunInterruptedThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice")
	}
	path, runsDir := writeTiny(t, func(y string) string {
		y = strings.Replace(y, "max_steps: 4", "max_steps: 20", 1)
		return y[:strings.Index(y, "evaluate:")]
	})
	plugins := t.TempDir() // the built-in plugins only, from a --plugins the printed command repeats
	killed, errs := interruptAfterAStep(t, path, runsDir, "--plugins", plugins)
	if strings.Contains(errs, "context canceled") {
		t.Errorf("stderr has the error chain:\n%s", errs)
	}
	want := "interrupted during pretraining at step "
	cmd := "continue it with:\n  convirt run --plugins " + experiment.ShellQuote(plugins) + " --resume " + killed + "\n"
	if !strings.Contains(errs, want) || !strings.Contains(errs, cmd) {
		t.Fatalf("stderr lacks %q and %q:\n%s", want, cmd, errs)
	}
	if m, err := runs.ReadMeta(killed); err != nil || m.Status != runs.Killed {
		t.Fatalf("status %q (%v), want killed", m.Status, err)
	}
	if cks, _ := filepath.Glob(filepath.Join(killed, "checkpoints", "step-*.ckpt")); len(cks) == 0 {
		t.Fatal("no checkpoint")
	}
	// An attempt abandoned after a step the resumed one does not reach
	// (as one cut short by early stopping would leave): its value must not
	// stay the run's final one.
	abandoned := `{"key":"train/loss","value":999,"step":25,"time":"2026-01-01T00:00:00Z"}` + "\n"
	if f, err := os.OpenFile(filepath.Join(killed, runs.MetricsFile), os.O_APPEND|os.O_WRONLY, 0); err != nil {
		t.Fatal(err)
	} else if _, err := f.WriteString(abandoned); err != nil || f.Close() != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "run", "--resume", killed)
	if code != 0 || !strings.HasPrefix(out, "resuming run "+filepath.Base(killed)+" in "+killed+"\n  device cpu, precision fp32\n") {
		t.Fatalf("--resume: exit %d\n%s\n%s", code, out, errs)
	}
	// The header names the data and the plugins; the progress and the
	// metrics carry the learning rate the torch encoders report.
	for _, want := range []string{"\n  pretraining data mimic-cxr: train 45 pairs; 5 steps per epoch of 8 pairs, 20 steps\n",
		"\n  plugins: bert ", " (encoder), convirt ", " (loss), mimic-cxr ", " (dataset), smallcnn "} {
		if !strings.Contains(out, want) {
			t.Errorf("header lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "/20 steps in ") || !strings.Contains(errs, " lr 0.001") {
		t.Errorf("progress lacks the steps or the learning rate:\n%s", errs)
	}
	ms, err := runs.ReadMetrics(killed)
	if err != nil {
		t.Fatal(err)
	}
	if f := runs.Final(ms)["train/loss"]; f.Step != 20 || f.Value == 999 {
		t.Errorf("final train/loss %+v, want step 20's: the abandoned step 25 was not voided by the resume", f)
	}
	lr := map[string]int{}
	for _, m := range ms {
		if m.Key == "train/lr" || m.Key == "train/text_lr" {
			if m.Value != 0.001 {
				t.Errorf("%s = %v at step %d, want the recipe's 0.001", m.Key, m.Value, m.Step)
			}
			lr[m.Key]++
		}
	}
	if lr["train/lr"] != 20 || lr["train/text_lr"] != 20 {
		t.Errorf("learning rates logged %v, want one per step of 20", lr)
	}
	code, _, errs = runCLI(t, "run", "--resume", killed)
	if code != 1 || !strings.Contains(errs, "convirt run --repeat "+killed) {
		t.Fatalf("--resume of the finished run: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(killed, "logs", "run.log")); err != nil {
		t.Fatal(err)
	}
}

// cancelOn is a writer that cancels when what was written matches.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	match  *regexp.Regexp
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.match.Match(w.buf.Bytes()) {
		w.cancel()
	}
	return len(p), nil
}

// interruptAfterAStep runs the recipe at path (with flags) and cancels its
// context once a progress line shows a step done (--progress-every 1ms
// prints them), as a signal would; it returns the run's directory and
// stderr.
func interruptAfterAStep(t *testing.T, path, runsDir string, flags ...string) (dir, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errw := &cancelOn{match: regexp.MustCompile(`pretraining: [1-9]`), cancel: cancel}
	var out bytes.Buffer
	if code := run(ctx, append([]string{"run", path, "--progress-every", "1ms"}, flags...), &out, errw); code != 1 {
		t.Fatalf("the interrupted run: exit %d\n%s\n%s", code, out.String(), errw.buf.String())
	}
	dirs := runDirs(t, runsDir, "e2e")
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	return dirs[0], errw.buf.String()
}
