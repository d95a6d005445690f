package experiment

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// What a user sees of a run while it goes: the header at its start, the
// progress bars (lines in a log), warnings, and what an interruption left
// and how to continue.

// Interrupted is the error of a run its context stopped (Ctrl-C, SIGINT,
// or the SIGTERM a batch scheduler sends before a time limit): pretraining
// finished its step and wrote a checkpoint, the run is closed as killed,
// and Command continues it.
type Interrupted struct {
	RunDir     string
	Stage      string // "pretraining", "evaluation", ...
	Step       int    // the pretraining step reached (0 when none ran)
	Checkpoint string // the checkpoint written on the way out; "" when none
	// Command continues the run: `convirt run --resume RUN_DIR`, or
	// `--restart` when there is no checkpoint to resume from.
	Command string
	cause   error
}

func (e *Interrupted) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s interrupted during %s", e.RunDir, e.Stage)
	if e.Checkpoint != "" {
		fmt.Fprintf(&b, " at step %d (checkpoint %s written)", e.Step, e.Checkpoint)
	}
	fmt.Fprintf(&b, "; continue it with:\n  %s", e.Command)
	return b.String()
}

// Unwrap is the context's error (context.Canceled).
func (e *Interrupted) Unwrap() error { return e.cause }

// interrupted makes the Interrupted error of this run's stop in stage.
func (s *session) interrupted(stage string, res *train.Result, cause error) *Interrupted {
	e := &Interrupted{RunDir: s.run.Dir(), Stage: stage, cause: cause}
	if res != nil {
		e.Step, e.Checkpoint = res.Steps, res.Checkpoint
	}
	flag := "--resume"
	if s.r.Data.Pretrain != nil {
		if steps, _ := train.Checkpoints(s.runPath(runs.CheckpointsDir)); len(steps) == 0 {
			flag = "--restart"
		}
	}
	cmd := s.opt.Command
	if cmd == "" {
		cmd = "convirt run"
	}
	e.Command = fmt.Sprintf("%s %s %s", cmd, flag, ShellQuote(s.run.Dir()))
	return e
}

// ShellQuote quotes p for a POSIX shell when it needs it, for the commands
// a run prints for its user to paste (the one that continues it).
func ShellQuote(p string) string {
	plain := p != ""
	for _, r := range p {
		plain = plain && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+=,", r))
	}
	if plain {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// checkResume refuses a --resume (or --restart) that cannot do what it
// says, before the run's record is touched or a plugin started: a finished
// run is run again with --repeat; a run that pretrains and has no
// checkpoint resumes from nothing, so it is started over with --restart.
func (s *session) checkResume(run *runs.Run) error {
	dir, flag := run.Dir(), "--resume"
	if s.opt.Restart {
		flag = "--restart"
	}
	if run.Meta().Status == runs.Finished {
		return fmt.Errorf("run %s finished; %s continues a run that stopped early. To run its recipe again as a new run:\n  convirt run --repeat %s", dir, flag, ShellQuote(dir))
	}
	if s.opt.Restart || s.r.Data.Pretrain == nil {
		return nil
	}
	steps, err := train.Checkpoints(run.Path(runs.CheckpointsDir))
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		return fmt.Errorf("run %s has no checkpoint to resume from (it stopped before writing its first one); start it over with:\n  convirt run --restart %s", dir, ShellQuote(dir))
	}
	return nil
}

// header prints what the run is, as it starts: its ID and folder, the
// device and the precision.
func (s *session) header() {
	verb := "run"
	switch {
	case s.opt.Restart:
		verb = "restarting run"
	case s.opt.Resume != "":
		verb = "resuming run"
	}
	fmt.Fprintf(s.opt.Out, "%s %s in %s\n  device %s, precision %s\n", verb, s.run.ID(), s.run.Dir(), s.r.Device, s.precision())
}

// precision is the encoders' training precision as their configs set it
// (fp32 unless a config's "precision" key says otherwise).
func (s *session) precision() string {
	p := map[string]bool{}
	for _, cfg := range []map[string]any{s.r.ImageEncoder.Config, s.r.TextConfig()} {
		if v, ok := cfg[recipe.PrecisionKey].(string); ok && v != "" {
			p[v] = true
		} else {
			p[recipe.PrecisionFP32] = true
		}
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, "+")
}

// pretrainHeader prints pretraining's data and schedule, and the plugins
// started, with their versions.
func (s *session) pretrainHeader(ctx context.Context, d *host.Dataset, trainSplit string, trainLen int, valSplit string, perEpoch, total int) {
	sizes := fmt.Sprintf("%s %d pairs", trainSplit, trainLen)
	if valSplit != "" {
		if info, err := d.Describe(ctx, valSplit); err == nil {
			sizes += fmt.Sprintf(", %s %d pairs", valSplit, info.Len)
		}
	}
	steps := "until train.max_minutes"
	if total > 0 {
		steps = fmt.Sprintf("%d steps", total)
	}
	fmt.Fprintf(s.opt.Out, "  pretraining data %s: %s; %d steps per epoch of %d pairs, %s\n",
		s.r.Data.Pretrain.Plugin, sizes, perEpoch, s.r.Train.BatchSize, steps)
	var ps []string
	for _, p := range s.opt.Launcher.StartedSince(s.mark) {
		ps = append(ps, fmt.Sprintf("%s %s (%s)", p.Name, p.Version, p.Kind))
	}
	fmt.Fprintf(s.opt.Out, "  plugins: %s\n", strings.Join(ps, ", "))
}

// warn prints a warning about the run and keeps it in run.log.
func (s *session) warn(msg string) {
	fmt.Fprintf(s.opt.Progress, "warning: %s\n", msg)
	fmt.Fprintf(s.log, "%s warning: %s\n", time.Now().UTC().Format(time.RFC3339), msg)
}

// bar starts a progress bar on the run's progress writer with its unit and
// the run's line interval and clock.
func (s *session) bar(total int64, desc, unit string) *progress.Bar {
	return progress.NewWith(s.opt.Progress, total, desc, progress.Options{Unit: unit, Every: s.opt.ProgressEvery, Clock: s.opt.Clock})
}

// noticeInterrupt tells the user, the moment ctx ends, what the run does
// about it. The returned func stops the notice, or, when it has begun,
// waits for it to be written: the run's last words come after it, and
// nothing writes to the progress writer once Run has returned.
func (s *session) noticeInterrupt(ctx context.Context) (stop func()) {
	written := make(chan struct{})
	stopNotice := context.AfterFunc(ctx, func() {
		defer close(written)
		fmt.Fprintln(s.opt.Progress, "\ninterrupted: stopping cleanly (pretraining finishes its step and writes a checkpoint); interrupt again to stop at once, without one")
	})
	return func() {
		if !stopNotice() {
			<-written
		}
	}
}
