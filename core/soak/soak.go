// Package soak is `convirt soak` (`make soak`): it runs a recipe twice
// through the convirt binary, once undisturbed and once while SIGKILLing
// plugin processes and the host at random moments during pretraining
// (resuming the host each time), and checks that both runs end with the same
// final checkpoint and the same results. It drives the binary as a user
// would, so it needs nothing but the binary, the run store's layout and
// core/procs to find the plugin processes.
package soak

import (
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

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/runs"
)

// Defaults make the demo recipe a soak run: a small corpus and a fixed
// number of steps with frequent checkpoints, so a run is deterministic and
// every kill lands between checkpoints.
var Defaults = []string{
	"data.synth.pairs=800", "train.max_steps=120", "train.max_minutes=0",
	"train.checkpoint_every=10", "train.max_restarts=100",
}

// soak is one disturbed run in progress.
type soak struct {
	exe         string
	args        []string // `run` arguments of the first start
	out, stderr io.Writer
	rng         *rand.Rand
	clock       clock.Clock // waits between looks at the run
	pluginKills int         // still to do
	hostKills   int
	killed      []string // what was killed, in order
	hostStarts  int
}

// Options are what a soak runs and how it disturbs it.
type Options struct {
	// Exe is the convirt binary both runs start: `Exe run RECIPE --set ...`
	// and, after a host kill, `Exe run --resume DIR`.
	Exe string
	// Recipe is the recipe to soak; Sets are overrides (key.path=value)
	// applied after Defaults.
	Recipe string
	Sets   []string
	// PluginKills and HostKills are how many plugin processes and host
	// processes the disturbed run loses; Seed seeds their schedule.
	PluginKills, HostKills int
	Seed                   uint64
	// Out is the directory for both runs (a new temporary directory if "").
	Out string
	// Stdout gets the soak's report, Stderr the runs' own output.
	Stdout, Stderr io.Writer
	// Clock times the soak and the waits between kills (clock.Real if
	// nil); tests hand in a clock.Fake.
	Clock clock.Clock
}

// Run runs the recipe twice, once undisturbed and once with random plugin
// and host kills (resuming the host each time), and compares the final
// checkpoints and results; it fails on any difference.
func Run(ctx context.Context, o Options) error {
	if o.PluginKills < 0 || o.HostKills < 0 {
		return fmt.Errorf("soak: negative kill counts (%d plugin, %d host)", o.PluginKills, o.HostKills)
	}
	out := o.Out
	if out == "" {
		var err error
		if out, err = os.MkdirTemp("", "convirt-soak-"); err != nil {
			return err
		}
	}
	base := []string{"run", o.Recipe}
	for _, s := range append(append([]string{}, Defaults...), o.Sets...) {
		base = append(base, "--set", s)
	}
	data := filepath.Join(out, "data")
	env := append(os.Environ(), "CONVIRT_DATA="+data)
	clk := clock.Or(o.Clock)
	start := clk.Now()
	fmt.Fprintf(o.Stdout, "soak: undisturbed run (%s)\n", out)
	clean, err := runOnce(ctx, o.Exe, append(base, "--set", "output="+filepath.Join(out, "clean")), env, o.Stderr)
	if err != nil {
		return fmt.Errorf("undisturbed run: %w", err)
	}
	s := &soak{exe: o.Exe, args: append(base, "--set", "output="+filepath.Join(out, "disturbed")), out: o.Stdout, stderr: o.Stderr,
		rng: rand.New(rand.NewPCG(o.Seed, 0x50a6)), clock: clk, pluginKills: o.PluginKills, hostKills: o.HostKills}
	fmt.Fprintf(o.Stdout, "soak: disturbed run (%d plugin kills, %d host kills)\n", o.PluginKills, o.HostKills)
	dirty, err := s.run(ctx, env, filepath.Join(out, "disturbed"))
	if err != nil {
		return fmt.Errorf("disturbed run: %w", err)
	}
	return s.compare(clean, dirty, clk.Now().Sub(start))
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
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", runs.MetaFile))
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

// minWait and maxWait bound the random wait between two looks at the
// disturbed run (and so between two kills).
const (
	minWait = 2 * time.Second
	maxWait = 8 * time.Second
)

// disturb waits for the host to finish, killing things on the way; it
// reports whether it killed the host.
func (s *soak) disturb(ctx context.Context, host int, root string, done <-chan error) (bool, error) {
	for {
		wait := minWait + time.Duration(s.rng.IntN(int((maxWait-minWait)/time.Millisecond)))*time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				return false, fmt.Errorf("the host failed: %w", err)
			}
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-s.clock.After(wait):
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
	cks, _ := filepath.Glob(filepath.Join(dir, runs.CheckpointsDir, "step-*.ckpt"))
	_, evaluated := os.Stat(filepath.Join(dir, runs.ResultsFile))
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
