package experiment

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// followRecipe is a recipe that runs no plugin until pretraining, whose
// dataset plugin does not exist: what these tests check happens before.
func followRecipe(t *testing.T, pretrain bool) *recipe.Recipe {
	r := &recipe.Recipe{Name: "follow", Experiment: "follow", Output: t.TempDir(), Device: "cpu", Seed: 1,
		ImageEncoder: recipe.PluginRef{Plugin: testRetrievalEncoder, Config: map[string]any{}}}
	if pretrain {
		r.Data.Pretrain = &recipe.PluginRef{Plugin: "no-such-dataset"}
	}
	return r
}

// ranRun returns a run of r ended with status.
func ranRun(t *testing.T, r *recipe.Recipe, status runs.Status) *runs.Run {
	t.Helper()
	run, err := runs.Create(r.Output, r.Experiment, runs.Options{Name: r.Name})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(status); err != nil {
		t.Fatal(err)
	}
	return run
}

func statusOf(t *testing.T, dir string) runs.Status {
	t.Helper()
	m, err := runs.ReadMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m.Status
}

// TestResumeRefusesAFinishedRun: --resume (and --restart) of a finished
// run neither runs anything again nor changes its record; the error points
// at --repeat.
func TestResumeRefusesAFinishedRun(t *testing.T) {
	r := followRecipe(t, false)
	run := ranRun(t, r, runs.Finished)
	for _, restart := range []bool{false, true} {
		_, err := Run(context.Background(), r, Options{Launcher: testLauncher(), Resume: run.Dir(), Restart: restart})
		if err == nil || !strings.Contains(err.Error(), "finished") || !strings.Contains(err.Error(), "convirt run --repeat "+run.Dir()) {
			t.Fatalf("restart=%v: err = %v, want a refusal naming --repeat", restart, err)
		}
		if s := statusOf(t, run.Dir()); s != runs.Finished {
			t.Fatalf("status %q after the refusal", s)
		}
	}
}

// TestResumeWithoutCheckpointAsksForRestart: a run that pretrains and has
// no checkpoint is not silently trained from step 0 by --resume; the error
// names --restart, and --restart starts it over, its stale checkpoints
// removed.
func TestResumeWithoutCheckpointAsksForRestart(t *testing.T) {
	r := followRecipe(t, true)
	run := ranRun(t, r, runs.Killed)
	_, err := Run(context.Background(), r, Options{Launcher: testLauncher(), Resume: run.Dir()})
	want := "has no checkpoint to resume from (it stopped before writing its first one); start it over with:\n  convirt run --restart " + run.Dir()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if s := statusOf(t, run.Dir()); s != runs.Killed {
		t.Fatalf("status %q after the refusal", s)
	}
	best := run.Path(runs.CheckpointsDir, train.BestFile)
	if err := os.MkdirAll(filepath.Dir(best), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(best, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = Run(context.Background(), r, Options{Launcher: testLauncher(), Resume: run.Dir(), Restart: true, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "no-such-dataset") {
		t.Fatalf("--restart: err = %v, want pretraining to start (and fail on the unknown dataset plugin)", err)
	}
	if _, err := os.Stat(best); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stale checkpoint is still there (%v)", err)
	}
	if !strings.HasPrefix(out.String(), "restarting run "+run.ID()+" in "+run.Dir()+"\n") {
		t.Fatalf("header %q", out.String())
	}
}

// TestInterruptClosesTheRunAndSaysHowToContinue: a run whose context is
// cancelled (SIGINT, SIGTERM) ends as killed with an Interrupted error
// that names the stage and the exact command that continues it, and no
// "context canceled" chain. Before any checkpoint, that command is
// --restart; a run that does not pretrain is resumed.
func TestInterruptClosesTheRunAndSaysHowToContinue(t *testing.T) {
	for _, pretrain := range []bool{true, false} {
		r := followRecipe(t, pretrain)
		r.Data.Synth = &recipe.Synth{Root: filepath.Join(t.TempDir(), "synth"), Pairs: 16, Size: 16}
		ctx, cancel := context.WithCancel(context.Background())
		synth := &SynthCorpus{Write: func(ctx context.Context, _ string, _, _ int, _ int64, step func()) error {
			step()
			cancel() // the signal arrives while the corpus is written
			<-ctx.Done()
			return ctx.Err()
		}}
		var out, progress bytes.Buffer
		o, err := Run(ctx, r, Options{Launcher: testLauncher(), Synth: synth, Out: &out, Progress: &progress})
		var intr *Interrupted
		if !errors.As(err, &intr) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v (%T), want *Interrupted", err, err)
		}
		flag := map[bool]string{true: "--restart", false: "--resume"}[pretrain]
		want := "run " + o.RunDir + " interrupted during synthesis; continue it with:\n  convirt run " + flag + " " + o.RunDir
		if err.Error() != want {
			t.Fatalf("error %q, want %q", err, want)
		}
		if s := statusOf(t, o.RunDir); s != runs.Killed {
			t.Fatalf("status %q, want killed", s)
		}
		if !strings.Contains(progress.String(), "interrupted: stopping cleanly (pretraining finishes its step and writes a checkpoint)") {
			t.Fatalf("no notice of the interruption in %q", progress.String())
		}
		if !strings.HasPrefix(out.String(), "run "+o.RunID+" in "+o.RunDir+"\n  device cpu, precision fp32\n") {
			t.Fatalf("header %q", out.String())
		}
	}
}

// TestShellQuote: the printed command is pasteable.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"runs/demo/0a1b": "runs/demo/0a1b",
		"my runs/x":      "'my runs/x'",
		"it's":           `'it'\''s'`,
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSynthBarHasTotal: the synthetic corpus's bar counts images against
// the total the writer announces (SynthCorpus.Items).
func TestSynthBarHasTotal(t *testing.T) {
	r := followRecipe(t, false)
	r.Data.Synth = &recipe.Synth{Root: filepath.Join(t.TempDir(), "synth"), Pairs: 16, Size: 16, Seed: 2}
	synth := &SynthCorpus{
		Write: func(_ context.Context, dir string, pairs, _ int, _ int64, step func()) error {
			for range pairs + 1 {
				step()
			}
			return os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
		},
		Items: func(pairs int, seed int64) int64 { return int64(pairs) + seed - 1 },
	}
	var progress bytes.Buffer
	if _, err := Run(context.Background(), r, Options{Launcher: testLauncher(), Synth: synth, Progress: &progress, ProgressEvery: -1}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "synthetic corpus: 17/17 images in ") {
		t.Fatalf("progress %q", progress.String())
	}
}
