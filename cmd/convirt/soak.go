package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

func init() {
	register(&command{
		Name:  "soak",
		Usage: "[--recipe FILE] [--set key=value]... [--plugin-kills N] [--host-kills N] [--seed S] [--out DIR]",
		Short: "run a recipe twice, once undisturbed and once with random plugin and host kills, and compare the results",
		Run:   runSoak,
	})
}

// soakDefaults make the demo recipe a soak run: a small corpus and a fixed
// number of steps with frequent checkpoints, so a run is deterministic and
// every kill lands between checkpoints.
var soakDefaults = []string{
	"data.synth.pairs=800", "train.max_steps=120", "train.max_minutes=0",
	"train.checkpoint_every=10", "train.max_restarts=100",
}

// soak is one disturbed run in progress.
type soak struct {
	exe         string
	args        []string // `run` arguments of the first start
	out, stderr io.Writer
	rng         *rand.Rand
	pluginKills int // still to do
	hostKills   int
	killed      []string // what was killed, in order
	hostStarts  int
}

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("soak", stderr)
	file := fs.String("recipe", "recipes/demo.yaml", "the recipe to soak")
	var sets setFlags
	fs.Var(&sets, "set", "override `key.path=value` (repeatable), after the soak's own")
	pk := fs.Int("plugin-kills", 3, "plugin processes to SIGKILL during the disturbed run")
	hk := fs.Int("host-kills", 2, "times to SIGKILL the host during the disturbed run (then --resume)")
	seed := fs.Uint64("seed", 1, "seed of the kill schedule")
	out := fs.String("out", "", "directory for both runs (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *pk < 0 || *hk < 0 {
		return fmt.Errorf("%w: bad arguments", errUsage)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if *out == "" {
		if *out, err = os.MkdirTemp("", "convirt-soak-"); err != nil {
			return err
		}
	}
	base := []string{"run", *file}
	for _, s := range append(append([]string{}, soakDefaults...), sets...) {
		base = append(base, "--set", s)
	}
	data := filepath.Join(*out, "data")
	env := append(os.Environ(), "CONVIRT_DATA="+data)
	start := time.Now()
	fmt.Fprintf(stdout, "soak: undisturbed run (%s)\n", *out)
	clean, err := runOnce(ctx, exe, append(base, "--set", "output="+filepath.Join(*out, "clean")), env, stderr)
	if err != nil {
		return fmt.Errorf("undisturbed run: %w", err)
	}
	s := &soak{exe: exe, args: append(base, "--set", "output="+filepath.Join(*out, "disturbed")), out: stdout, stderr: stderr,
		rng: rand.New(rand.NewPCG(*seed, 0x50a6)), pluginKills: *pk, hostKills: *hk}
	fmt.Fprintf(stdout, "soak: disturbed run (%d plugin kills, %d host kills)\n", *pk, *hk)
	dirty, err := s.run(ctx, env, filepath.Join(*out, "disturbed"))
	if err != nil {
		return fmt.Errorf("disturbed run: %w", err)
	}
	return s.compare(clean, dirty, time.Since(start))
}

// runOnce runs convirt to the end and returns its run directory.
func runOnce(ctx context.Context, exe string, args, env []string, stderr io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, stderr
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return newestRun(argValue(args, "output="))
}

// argValue returns the value of the last `--set prefix...` argument.
func argValue(args []string, prefix string) string {
	v := ""
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			v = strings.TrimPrefix(a, prefix)
		}
	}
	return v
}

// newestRun returns the run directory under an output root (one experiment).
func newestRun(root string) (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", "meta.json"))
	var best string
	var bestT time.Time
	for _, m := range dirs {
		if fi, err := os.Stat(m); err == nil && fi.ModTime().After(bestT) {
			best, bestT = filepath.Dir(m), fi.ModTime()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no run under %s", root)
	}
	return best, nil
}

// run drives the disturbed run: it starts the host, kills plugin processes
// and the host at random moments while checkpoints are being written, and
// resumes the host until the run finishes.
func (s *soak) run(ctx context.Context, env []string, root string) (string, error) {
	args := s.args
	for {
		s.hostStarts++
		cmd := exec.CommandContext(ctx, s.exe, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, s.stderr
		if err := cmd.Start(); err != nil {
			return "", err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		hostKilled, err := s.disturb(ctx, cmd.Process.Pid, root, done)
		if err != nil {
			return "", err
		}
		dir, derr := newestRun(root)
		if !hostKilled {
			return dir, derr
		}
		if derr != nil {
			return "", derr
		}
		args = []string{"run", "--resume", dir}
	}
}

// disturb waits for the host to finish, killing things on the way; it
// reports whether it killed the host.
func (s *soak) disturb(ctx context.Context, host int, root string, done <-chan error) (bool, error) {
	for {
		wait := time.Duration(2000+s.rng.IntN(6000)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				return false, fmt.Errorf("the host failed: %w", err)
			}
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(wait):
		}
		if !s.training(root) {
			continue // kill only while pretraining: that is what checkpoints protect
		}
		kids := pluginsOf(host)
		switch {
		case s.hostKills > 0 && (s.pluginKills == 0 || s.rng.IntN(2) == 0):
			s.hostKills--
			_ = syscall.Kill(host, syscall.SIGKILL)
			if err := <-done; err == nil { // killed on purpose: an exit error is expected
				fmt.Fprintf(s.out, "soak: the host had exited cleanly before the kill\n")
			}
			s.killed = append(s.killed, "host")
			fmt.Fprintf(s.out, "soak: killed the host (pid %d)\n", host)
			return true, nil
		case s.pluginKills > 0 && len(kids) > 0:
			p := kids[s.rng.IntN(len(kids))]
			if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
				s.pluginKills--
				s.killed = append(s.killed, p.Plugin())
				fmt.Fprintf(s.out, "soak: killed plugin %s (pid %d)\n", p.Plugin(), p.PID)
			}
		}
	}
}

// training reports whether the disturbed run is pretraining and has written
// a checkpoint.
func (s *soak) training(root string) bool {
	dir, err := newestRun(root)
	if err != nil {
		return false
	}
	cks, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "step-*.ckpt"))
	_, evaluated := os.Stat(filepath.Join(dir, "results.json"))
	return len(cks) > 0 && errors.Is(evaluated, os.ErrNotExist)
}

// pluginsOf lists the plugin processes of a host.
func pluginsOf(host int) []procs.Proc {
	var out []procs.Proc
	for _, p := range procs.Children(host) {
		if p.Plugin() != "" {
			out = append(out, p)
		}
	}
	return out
}

// sameCheckpoints compares the newest checkpoints of two runs: the loop's
// position and every part's state, byte for byte.
func sameCheckpoints(clean, dirty string) ([]string, error) {
	a, err := train.LoadLatest(filepath.Join(clean, runs.CheckpointsDir))
	if err != nil {
		return nil, err
	}
	b, err := train.LoadLatest(filepath.Join(dirty, runs.CheckpointsDir))
	if err != nil {
		return nil, err
	}
	var diffs []string
	if a.State.Step != b.State.Step {
		diffs = append(diffs, fmt.Sprintf("final checkpoint at step %d undisturbed, %d disturbed", a.State.Step, b.State.Step))
	}
	for name, st := range a.Parts {
		if !bytes.Equal(st, b.Parts[name]) {
			diffs = append(diffs, fmt.Sprintf("final %s state differs", name))
		}
	}
	return diffs, nil
}

// compare prints the soak's summary and fails on any difference.
func (s *soak) compare(clean, dirty string, took time.Duration) error {
	diffs, err := sameCheckpoints(clean, dirty)
	if err != nil {
		return err
	}
	a, err := results.Read(filepath.Join(clean, "results.json"))
	if err != nil {
		return err
	}
	b, err := results.Read(filepath.Join(dirty, "results.json"))
	if err != nil {
		return err
	}
	log, _ := os.ReadFile(filepath.Join(dirty, "logs", "run.log"))
	restarts := strings.Count(string(log), "restarting the plugins")
	if len(a.Entries) != len(b.Entries) {
		diffs = append(diffs, fmt.Sprintf("%d entries undisturbed, %d disturbed", len(a.Entries), len(b.Entries)))
	} else {
		for i, e := range a.Entries {
			if f := b.Entries[i]; f.Mean != e.Mean || f.Metric != e.Metric {
				diffs = append(diffs, fmt.Sprintf("%s/%s/%s/%v %s: %v undisturbed, %v disturbed", e.Task, e.Protocol, e.Init, e.Fraction, e.Metric, e.Mean, f.Mean))
			}
		}
	}
	fmt.Fprintf(s.out, "soak: kills survived %d (%s), plugin restarts %d, host starts %d, final checkpoints and %d result entries compared, %d differences, %s\n",
		len(s.killed), strings.Join(s.killed, ", "), restarts, s.hostStarts, len(a.Entries), len(diffs), took.Round(time.Second))
	for _, d := range diffs {
		fmt.Fprintf(s.out, "  differs: %s\n", d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the disturbed run's results differ from the undisturbed run's (%d entries)", len(diffs))
	}
	fmt.Fprintf(s.out, "soak: same results (undisturbed %s, disturbed %s)\n", clean, dirty)
	return nil
}
