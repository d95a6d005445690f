// Package train is the host's ConVIRT pretraining loop. It drives encoder,
// loss and dataset plugins through the split training step of
// docs/architecture.md: batch from the dataset (prefetched), both encoder
// forwards in parallel, the loss and its gradients, both backwards and
// optimiser steps in parallel. Only embeddings and their gradients cross
// between encoders and the loss, so by the chain rule the step equals the one
// a single process would take. A loss that declares sdk.LossNeeds gets the
// encoders' named outputs it lists (local maps, token states) and the texts
// instead, and returns a gradient for each (local.go).
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Encoder is what the loop needs of an encoder plugin.
type Encoder interface {
	Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error)
	Backward(ctx context.Context, grad *tensor.Tensor) error
	Step(ctx context.Context, req sdk.StepRequest) error
	sdk.Stateful
}

// Loss is what the loop needs of a loss plugin.
type Loss interface {
	Compute(ctx context.Context, v, u *tensor.Tensor) (sdk.LossResult, error)
	Step(ctx context.Context) error
	sdk.Stateful
}

// Dataset is what the loop needs of a paired dataset plugin.
type Dataset interface {
	Describe(ctx context.Context, split string) (sdk.SplitInfo, error)
	Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error)
}

// Parts are the plugins one run trains. Text may be nil when the loss
// declares needs without text outputs (a captioning loss, local.go).
type Parts struct {
	Image, Text Encoder
	Loss        Loss
	Data        Dataset
	Recorder    Recorder // may be nil
	Progress    Progress // may be nil
	// Warn receives warnings about the run (a loss still at chance,
	// chance.go), once each; nil drops them.
	Warn func(msg string)
}

// Result summarises a finished run.
type Result struct {
	Steps       int
	Epochs      int
	LastLoss    float64
	BestValLoss float64 // NaN without validation
	// BestStep is the step of the lowest validation loss, MinValLoss that
	// loss (NaN without validation); the weights of that step are
	// BestFile in the checkpoint directory when checkpoints are on.
	BestStep   int
	MinValLoss float64
	StopReason string
	// SkippedCheckpoints lists corrupt checkpoints passed over on resume.
	SkippedCheckpoints []string
	// Checkpoint is the path of the last checkpoint written; "" when none.
	Checkpoint  string
	Elapsed     time.Duration
	ItemsPerSec float64
}

// Run trains until the schedule ends, early stopping triggers or ctx is
// cancelled, writing checkpoints as configured. Cancellation is clean: a
// step already begun finishes, a validation is abandoned (and done again
// first on resume), a final checkpoint is written (when checkpoints are on)
// and the error is ctx's own, with StopReason "interrupted". With
// cfg.MustResume, a resume that finds no valid checkpoint fails with
// ErrNoCheckpoint instead of starting at step 0.
func Run(ctx context.Context, cfg Config, p Parts) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	info, err := p.Data.Describe(ctx, cfg.TrainSplit)
	if err != nil {
		return Result{}, fmt.Errorf("describe split %q: %w", cfg.TrainSplit, err)
	}
	stepsPerEpoch := info.Len / cfg.BatchSize
	if stepsPerEpoch == 0 {
		return Result{}, fmt.Errorf("train: split %q has %d pairs, fewer than one batch of %d", cfg.TrainSplit, info.Len, cfg.BatchSize)
	}
	st := state{}
	var skipped []string
	if cfg.Resume && cfg.CheckpointDir != "" {
		var ck *Checkpoint
		var err error
		if cfg.ResumeAt > 0 {
			ck, err = LoadStep(cfg.CheckpointDir, cfg.ResumeAt)
		} else {
			ck, err = LoadLatest(cfg.CheckpointDir)
		}
		switch {
		case errors.Is(err, ErrNoCheckpoint) && cfg.MustResume:
			return Result{}, fmt.Errorf("resume from %s: %w", cfg.CheckpointDir, err)
		case errors.Is(err, ErrNoCheckpoint):
		case err != nil:
			return Result{}, err
		default:
			if err := restore(ctx, p, ck); err != nil {
				return Result{}, err
			}
			st, skipped = ck.State, ck.Skipped
		}
	}
	bad, err := adoptBest(cfg, &st)
	if err != nil {
		return Result{}, err
	}
	if bad != "" {
		skipped = append(skipped, bad)
	}
	if rw, ok := p.Recorder.(Rewinder); ok {
		if err := rw.Rewind(int64(st.Step)); err != nil && p.Warn != nil {
			p.Warn(fmt.Sprintf("recording the resumed step %d: %v", st.Step, err))
		}
	}
	if pf, ok := p.Progress.(ProgressFrom); ok && st.Step > 0 {
		pf.From(st.Step)
	}
	l := &loop{cfg: cfg, p: p, st: st, n: info.Len, perEpoch: stepsPerEpoch}
	if l.local, err = newLocal(ctx, cfg, p); err != nil {
		return Result{}, err
	}
	res, err := l.run(ctx)
	res.SkippedCheckpoints = skipped
	return res, err
}

// state is the loop's own resumable position.
type state struct {
	Step       int      `json:"step"`
	Epoch      int      `json:"epoch"`
	Pos        int      `json:"pos"` // batches done in the current epoch
	BestVal    float64  `json:"best_val"`
	HasBest    bool     `json:"has_best"`
	BadVals    int      `json:"bad_vals"`
	LastLoss   float64  `json:"last_loss"`
	PendingVal *float64 `json:"pending_val,omitempty"`
	// MinVal is the lowest validation loss so far (improvement is strict,
	// without EarlyStopMinDelta) and MinValStep the step it was measured
	// after: the content of BestFile.
	MinVal     float64 `json:"min_val"`
	MinValStep int     `json:"min_val_step"`
	HasMinVal  bool    `json:"has_min_val"`
	// ValDue is set between the end of an epoch and the end of its
	// validation: a run interrupted in between validates first on resume.
	ValDue bool `json:"val_due,omitempty"`
	// LastVal is the latest validation loss, for the progress line.
	LastVal    float64 `json:"last_val,omitempty"`
	HasLastVal bool    `json:"has_last_val,omitempty"`
}

type loop struct {
	cfg      Config
	p        Parts
	st       state
	n        int
	perEpoch int
	chance   chanceWatch
	lastCk   string  // the last checkpoint written
	lr       float64 // the image encoder's learning rate at the last step
	hasLR    bool
	local    *local // the step of a loss that needs named outputs; nil: the plain step
}

func (l *loop) done(start time.Time) string {
	switch {
	case l.cfg.MaxSteps > 0 && l.st.Step >= l.cfg.MaxSteps:
		return "max_steps"
	case l.cfg.Epochs > 0 && l.st.Epoch >= l.cfg.Epochs:
		return "epochs"
	case l.cfg.MaxDuration > 0 && time.Since(start) >= l.cfg.MaxDuration:
		return "max_minutes"
	case l.cfg.EarlyStopPatience > 0 && l.st.BadVals >= l.cfg.EarlyStopPatience:
		return "early_stopping"
	}
	return ""
}

func (l *loop) run(ctx context.Context) (Result, error) {
	start := time.Now()
	startStep := l.st.Step
	res := Result{BestValLoss: math.NaN()}
	pf := newPrefetcher(ctx, l.p.Data, l.cfg, l.n, l.perEpoch, l.st.Epoch, l.st.Pos)
	defer pf.stop()
	empty := 0 // empty batches in a row
	for {
		if l.st.ValDue { // interrupted during this validation before
			if err := l.validate(ctx); err != nil {
				return l.stop(ctx, res, start, startStep, err)
			}
		}
		if reason := l.done(start); reason != "" {
			res.StopReason = reason
			break
		}
		if ctx.Err() != nil {
			return l.stop(ctx, res, start, startStep, ctx.Err())
		}
		b, err := pf.next()
		if err != nil {
			return l.stop(ctx, res, start, startStep, err)
		}
		// A batch whose samples all failed to load comes back empty (the
		// dataset counts them against its max_bad_fraction): it takes its
		// place in the epoch without a step.
		stepped := len(b.IDs) > 0
		if stepped {
			empty = 0
			// A step begun is finished, so that an interruption leaves a
			// whole state to checkpoint.
			lr, err := l.step(context.WithoutCancel(ctx), b)
			if err != nil {
				return l.result(res, start, startStep), fmt.Errorf("step %d: %w", l.st.Step+1, err)
			}
			l.st.Step++
			l.st.LastLoss = lr.Loss
			l.record("train/loss", lr.Loss)
			l.recordLR()
			l.chance.observe(l, lr)
			if l.p.Progress != nil {
				l.p.Progress.Add(1)
				l.p.Progress.Describe(l.describe())
			}
		} else if empty++; empty >= l.perEpoch {
			return l.result(res, start, startStep), fmt.Errorf("epoch %d: %d batches in a row came back empty (every sample failed to load): check the dataset, or its max_bad_fraction",
				l.st.Epoch+1, empty)
		}
		l.st.Pos++
		if l.st.Pos == l.perEpoch {
			l.st.Epoch++
			l.st.Pos = 0
			l.st.ValDue = l.cfg.ValSplit != ""
			if err := l.validate(ctx); err != nil {
				return l.stop(ctx, res, start, startStep, err)
			}
		}
		if stepped && l.cfg.CheckpointEvery > 0 && l.st.Step%l.cfg.CheckpointEvery == 0 {
			if err := l.checkpoint(ctx); err != nil {
				return l.result(res, start, startStep), err
			}
		}
	}
	if err := l.checkpoint(ctx); err != nil {
		return l.result(res, start, startStep), err
	}
	return l.result(res, start, startStep), nil
}

func (l *loop) result(r Result, start time.Time, startStep int) Result {
	r.Steps = l.st.Step
	r.Epochs = l.st.Epoch
	r.LastLoss = l.st.LastLoss
	if l.st.HasBest {
		r.BestValLoss = l.st.BestVal
	}
	r.MinValLoss = math.NaN()
	if l.st.HasMinVal {
		r.BestStep, r.MinValLoss = l.st.MinValStep, l.st.MinVal
	}
	r.Checkpoint = l.lastCk
	r.Elapsed = time.Since(start)
	if s := r.Elapsed.Seconds(); s > 0 {
		r.ItemsPerSec = float64((l.st.Step-startStep)*l.cfg.BatchSize) / s
	}
	return r
}

func (l *loop) record(key string, v float64) {
	if l.p.Recorder != nil {
		// Tracking must never fail the training step; the recorder buffers.
		_ = l.p.Recorder.LogMetric(key, v, int64(l.st.Step))
	}
}
