// Package experiment runs a recipe end to end, as `convirt run` does: it
// creates (or reopens) the run directory, writes the synthetic corpus when
// the recipe asks for one, pretrains the encoders with the contrastive loss
// through their plugin processes, runs every evaluation, and writes
// results.json, the prediction CSVs, the plots, the paper-style tables and
// report.html. Every plugin runs in its own process, started through
// core/launch; every record also goes to MLflow when tracking is set.
// Protocols are registered values (protocol.go); features come from
// core/features, fine-tuning's loop is core/finetune, results core/results.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// Options controls Run.
type Options struct {
	// Launcher starts the plugins; required.
	Launcher *launch.Launcher
	// Out receives the final table and the report's path; Progress the
	// progress bars (drawn only on a terminal). nil discards.
	Out, Progress io.Writer
	// Resume is an existing run directory to continue: training restarts
	// from its newest valid checkpoint, evaluations run again.
	Resume string
	// ParentID makes the run a child of a sweep's parent run.
	ParentID string
	// Label names a sweep child ("lr=0.001"); it is added to the run name.
	Label string
	// Env is extra run-environment information (libtorch version, ...).
	Env map[string]string
	// Synth writes the synthetic corpus of a recipe's data.synth; a
	// recipe that asks for one fails without it.
	Synth *SynthCorpus
	// Restart starts the run in Resume over: its checkpoints are removed
	// and pretraining begins at step 0 (`convirt run --restart`).
	Restart bool
	// ProgressEvery is how often a progress bar not drawn on a terminal
	// prints a line (0: progress.DefaultEvery; < 0: summaries only).
	ProgressEvery time.Duration
	// Clock times the progress bars; nil is the real clock.
	Clock clock.Clock
	// Command is the command line an interrupted run is continued with,
	// before its --resume RUN_DIR ("convirt run" when empty).
	Command string
}

// Outcome is what a finished run produced.
type Outcome struct {
	RunDir  string
	RunID   string
	Train   *train.Result // nil when the recipe does not pretrain
	Results *results.File // nil when the recipe has no evaluations
	Report  string        // path of report.html
	Tables  string        // the Markdown tables printed at the end
}

// session is one run in progress.
type session struct {
	r       *recipe.Recipe
	opt     Options
	run     *runs.Run
	tracker runs.Multi
	log     *os.File
	states  map[string][]byte // pretrained encoder states: "image", "text"
	trained *pretrainOutcome  // this run's pretraining, for the evaluations' checkpoint
	stage   string            // the stage running, for an interruption's message
	// mark is where this run began in the launcher's starts: the plugins
	// started after it are this run's (a sweep's runs share a launcher).
	mark int
	// generation counts pretraining's restarts after a failure in
	// training, for the encoder replicas' rendezvous
	// (sdk.Replica.Generation): every host of a run counts the same.
	generation int
	// nodes is where this run stands among the runs of a pretraining on
	// several hosts, read once from torchrun's variables; nodesErr is what
	// is wrong with them, the error of starting encoders (nodes is then
	// the one host's, as is its zero value).
	nodes    nodes
	nodesErr error
}

// Run executes the recipe r. On failure the run is marked failed and the
// error names the stage and plugin at fault; what was recorded stays.
func Run(ctx context.Context, r *recipe.Recipe, opt Options) (*Outcome, error) {
	if opt.Launcher == nil {
		return nil, errors.New("experiment: no launcher")
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	opt.Progress = progress.Shared(opt.Progress) // bars, warnings and the interruption's notice write at once
	s := &session{r: r, opt: opt, mark: opt.Launcher.Mark()}
	if s.nodes, s.nodesErr = nodesFromEnv(os.Getenv); s.nodesErr != nil {
		s.nodes = nodes{world: 1}
	}
	if err := s.open(); err != nil {
		return nil, s.abandon(err)
	}
	out := &Outcome{RunDir: s.run.Dir(), RunID: s.run.ID()}
	s.header()
	stopNotice := s.noticeInterrupt(ctx)
	err := s.executeOrRecover(ctx, out)
	stopNotice()
	status := runs.Finished
	switch {
	case err != nil && ctx.Err() != nil:
		status = runs.Killed
		err = s.interrupted(s.stage, out.Train, ctx.Err())
		fmt.Fprintf(s.log, "run interrupted during %s\n", s.stage)
	case err != nil:
		status = runs.Failed
		fmt.Fprintf(s.log, "run failed: %v\n", err)
	}
	if ferr := s.close(status); ferr != nil && err == nil {
		err = ferr
	}
	var intr *Interrupted
	switch {
	case errors.As(err, &intr):
		return out, err // it names the run
	case err != nil:
		return out, fmt.Errorf("run %s: %w", s.run.Dir(), err)
	}
	return out, nil
}

// execute runs the stages.
func (s *session) execute(ctx context.Context, out *Outcome) error {
	s.stage = "synthesis"
	if err := s.synth(ctx); err != nil {
		return fmt.Errorf("synthetic corpus: %w", err)
	}
	s.stage = "the evaluation precision check"
	if err := s.checkEvalPrecision(ctx); err != nil {
		return err
	}
	if s.r.Data.Pretrain != nil {
		s.stage = "pretraining"
		res, err := s.pretrain(ctx)
		out.Train = res
		if err != nil {
			return fmt.Errorf("pretraining: %w", err)
		}
	}
	s.stage = "evaluation"
	switch {
	case len(s.r.Evaluate) == 0:
	case s.evaluationsElsewhere():
		place := fmt.Sprintf("node %d of %d", s.nodes.rank, s.nodes.world)
		fmt.Fprintf(s.log, "evaluations: rank 0's run evaluates the pretrained encoders; this run, %s, pretrained only\n", place)
		fmt.Fprintf(s.opt.Out, "evaluations: run on rank 0's host; this run (%s) pretrained only\n", place)
	default:
		f, err := s.evaluate(ctx)
		if err != nil {
			return fmt.Errorf("evaluation: %w", err)
		}
		out.Results = f
	}
	s.stage = "the report"
	tables, report, err := s.report(out)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	out.Tables, out.Report = tables, report
	return nil
}

// open creates the run directory (or reopens the one to resume), saves the
// resolved recipe, logs the params and starts MLflow tracking.
func (s *session) open() error {
	var err error
	if s.opt.Resume != "" {
		if s.run, err = runs.Open(s.opt.Resume); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if err := s.checkResume(s.run); err != nil {
			return err
		}
		if s.opt.Restart {
			if err := train.Clear(s.run.Path(runs.CheckpointsDir)); err != nil {
				return fmt.Errorf("restart: %w", err)
			}
		}
		if err := s.run.Reopen(); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	} else {
		name := s.r.Name
		if s.opt.Label != "" {
			name += " [" + s.opt.Label + "]"
		}
		extra := map[string]string{"device": s.r.Device}
		for k, v := range s.opt.Env {
			extra[k] = v
		}
		s.run, err = runs.Create(s.r.Output, s.r.Experiment, runs.Options{Name: name, ParentID: s.opt.ParentID,
			EnvExtra: extra, AllowText: s.r.Tracking.LogText})
		if err != nil {
			return err
		}
		if err := s.r.Save(s.run.Dir()); err != nil {
			return err
		}
	}
	if s.log, err = os.OpenFile(s.run.Path(runs.LogsDir, "run.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		return fmt.Errorf("run %s: log: %w", s.run.ID(), err)
	}
	fmt.Fprintf(s.log, "%s run %s of recipe %s\n", time.Now().UTC().Format(time.RFC3339), s.run.ID(), s.r.Source)
	s.opt.Launcher.Log = s.log
	s.tracker = runs.Multi{s.run}
	if t, err := s.mlflow(); err != nil {
		return err
	} else if t != nil {
		s.tracker = append(s.tracker, t)
	}
	if s.opt.Resume == "" {
		if err := s.tracker.LogParams(flatten("", s.r.Tree())); err != nil {
			return err
		}
	}
	return nil
}

// close finishes the run's records. Only the local record decides the
// outcome: a tracking server that cannot be reached keeps its operations
// spooled in the run directory, and the run says how to send them later.
func (s *session) close(status runs.Status) error {
	// The plugins that ran, with versions and checksums, also for a failed run.
	if env := s.opt.Launcher.EnvEntries(s.mark); len(env) > 0 {
		if terr := s.tracker.SetTags(env); terr != nil {
			fmt.Fprintf(s.log, "warning: record plugin versions: %v\n", terr)
		}
	}
	err := s.run.Finish(status)
	for _, t := range s.tracker[1:] {
		if terr := t.Finish(status); terr != nil {
			fmt.Fprintf(s.opt.Progress, "warning: %v\nthe run is complete locally; record it with `convirt runs push %s`\n", terr, s.run.Dir())
			fmt.Fprintf(s.log, "warning: tracking: %v\n", terr)
		}
	}
	fmt.Fprintf(s.log, "%s run %s %s\n", time.Now().UTC().Format(time.RFC3339), s.run.ID(), status)
	s.log.Close()
	return err
}

// LogMetric implements train.Recorder over every tracker.
func (s *session) LogMetric(key string, value float64, step int64) error {
	return s.tracker.LogMetrics([]runs.Metric{{Key: key, Value: value, Step: step, Time: time.Now()}})
}

// runPath is where a run-relative file lives.
func (s *session) runPath(rel ...string) string {
	return filepath.Join(append([]string{s.run.Dir()}, rel...)...)
}
