package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
)

// closer is anything the run must close on the way out.
type closer interface{ Close() error }

// closeAll closes the plugins in reverse order of start.
func closeAll(cs []closer) {
	for i := len(cs) - 1; i >= 0; i-- {
		_ = cs[i].Close()
	}
}

// pretrainParts are the started plugins of pretraining.
type pretrainParts struct {
	data        *host.Dataset
	image, text train.Encoder // a *host.Encoder, or train.Replicas (replicas.go)
	loss        *host.Loss
	open        []closer
}

// close stops every plugin.
func (p *pretrainParts) close() { closeAll(p.open) }

// startPretrain starts and configures the pretraining plugins. totalSteps
// sizes cosine schedules (0 until the dataset's size is known).
func (s *session) startPretrain(ctx context.Context, totalSteps int) (*pretrainParts, error) {
	r, l := s.r, s.opt.Launcher
	p := &pretrainParts{}
	dcfg := s.withRunDefaults(r.Data.Pretrain.Plugin, r.Data.Pretrain.Config, map[string]any{"text_sampling": r.Train.TextSampling})
	var err error
	if p.data, err = l.Dataset(ctx, r.Data.Pretrain.Plugin, dcfg); err != nil {
		return p, fmt.Errorf("data.pretrain: %w", err)
	}
	p.open = append(p.open, p.data)
	// The loss first: what it needs decides whether a text encoder runs.
	if p.loss, err = l.Loss(ctx, r.Loss.Plugin, r.Loss.Config); err != nil {
		return p, fmt.Errorf("loss: %w", err)
	}
	p.open = append(p.open, p.loss)
	info, err := p.loss.Info(ctx) // once configured: needs may follow the config
	if err != nil {
		return p, fmt.Errorf("loss (plugin %q): info: %w", r.Loss.Plugin, err)
	}
	withText, err := s.textEncoderNeeded(info)
	if err != nil {
		return p, err
	}
	if p.image, err = s.startEncoder(ctx, p, 0, r.ImageEncoder.Plugin, s.encoderConfig(r.ImageEncoder.Plugin, r.ImageEncoder.Config, totalSteps, false)); err != nil {
		return p, fmt.Errorf("image_encoder: %w", err)
	}
	if withText {
		if p.text, err = s.startEncoder(ctx, p, 1, r.TextEncoder.Plugin, s.encoderConfig(r.TextEncoder.Plugin, r.TextEncoder.Config, totalSteps, false)); err != nil {
			return p, fmt.Errorf("text_encoder: %w", err)
		}
	}
	return p, nil
}

// textEncoderNeeded says whether pretraining runs the recipe's text
// encoder, from what the started loss declares (its sdk.Info.Needs): a loss
// of the pooled embeddings (no needs) or one that lists text outputs needs
// it, and a recipe without a text_encoder section is then refused, naming
// the key; a loss that needs no text output (a captioning loss, which reads
// the raw texts) trains the image encoder alone, and a text_encoder the
// recipe names anyway is not started (noted in the log), so that the run
// keeps no untrained text state that an evaluation could mistake for a
// pretrained one.
func (s *session) textEncoderNeeded(loss sdk.Info) (bool, error) {
	r := s.r
	if loss.Needs != nil && len(loss.Needs.Text) == 0 {
		if r.TextEncoder != nil {
			fmt.Fprintf(s.log, "text_encoder (plugin %q) not started: loss %q needs none of its outputs\n", r.TextEncoder.Plugin, r.Loss.Plugin)
		}
		return false, nil
	}
	if r.TextEncoder == nil {
		what := "the pooled image and text embeddings"
		if loss.Needs != nil {
			what = fmt.Sprintf("the text encoder's outputs %v", loss.Needs.Text)
		}
		return false, fmt.Errorf("recipe %s: text_encoder: missing: loss %q takes %s; add a text_encoder section, or use a loss that needs no text outputs (a captioning loss)", r.Source, r.Loss.Plugin, what)
	}
	return true, nil
}

// pretrain trains the image and text encoders with the loss on the
// pretraining dataset, checkpointing into the run, and keeps the final
// encoder states for the evaluations. When a plugin process dies, every
// plugin is restarted and training resumes from the newest checkpoint, so
// the run ends as an uninterrupted one would; restarts are capped by
// train.max_restarts and logged. A plugin that dies while starting, before
// its handshake, counts against the same cap.
func (s *session) pretrain(ctx context.Context) (*train.Result, error) {
	r := s.r
	restarts := 0 // plugin deaths survived, while starting or training
	probe, err := s.startPretrainRestarting(ctx, 0, &restarts, 0)
	if err != nil {
		return nil, err
	}
	trainSplit, valSplit, err := pretrainSplits(ctx, probe.data)
	var info sdk.SplitInfo
	if err == nil {
		info, err = probe.data.Describe(ctx, trainSplit)
	}
	if err != nil {
		probe.close()
		return nil, fmt.Errorf("data.pretrain (plugin %q): %w", r.Data.Pretrain.Plugin, err)
	}
	perEpoch := info.Len / r.Train.BatchSize
	total := 0
	if r.Train.Epochs > 0 {
		total = r.Train.Epochs * perEpoch
	}
	if r.Train.MaxSteps > 0 && (total == 0 || r.Train.MaxSteps < total) {
		total = r.Train.MaxSteps
	}
	parts := probe
	if r.Train.Schedule.Kind == "cosine" { // the encoders need the step budget
		probe.close()
		if parts, err = s.startPretrainRestarting(ctx, total, &restarts, 0); err != nil {
			return nil, err
		}
	}
	cfg := train.Config{
		BatchSize: r.Train.BatchSize, Epochs: r.Train.Epochs, MaxSteps: r.Train.MaxSteps,
		MaxDuration: time.Duration(r.Train.MaxMinutes * float64(time.Minute)),
		Seed:        int64(r.Seed), TrainSplit: trainSplit, ValSplit: valSplit, ValMaxBatches: r.Train.ValBatches,
		Augment: true, Prefetch: r.Train.Prefetch, GradCacheChunk: r.Train.GradCache.Chunk, LengthBuckets: r.Train.LengthBuckets,
		SequentialEncoders: r.Train.SequentialEncoders,
		EarlyStopPatience:  r.Train.EarlyStopping.Patience, EarlyStopMinDelta: r.Train.EarlyStopping.MinDelta,
		CheckpointEvery: r.Train.CheckpointEvery, CheckpointDir: s.runPath(runs.CheckpointsDir),
		Resume: s.opt.Resume != "" && !s.opt.Restart, MustResume: s.opt.Resume != "" && !s.opt.Restart,
	}
	s.trained = &pretrainOutcome{valSplit: valSplit, checkpoints: cfg.CheckpointDir}
	fmt.Fprintf(s.log, "pretraining on %s/%s (%d pairs, %d steps per epoch), validation on %q\n", r.Data.Pretrain.Plugin, trainSplit, info.Len, perEpoch, valSplit)
	s.pretrainHeader(ctx, parts.data, trainSplit, info.Len, valSplit, perEpoch, total)
	rec := &attemptRecorder{session: s, restarts: &restarts}
	for {
		bar := s.bar(int64(total), "pretraining", "steps")
		res, err := train.Run(ctx, cfg, train.Parts{Image: parts.image, Text: parts.text, Loss: parts.loss, Data: parts.data, Recorder: rec, Progress: barAdapter{bar}, Warn: s.warn})
		bar.Finish()
		if err == nil {
			defer parts.close()
			return s.finishPretrain(ctx, res, parts)
		}
		parts.close()
		cause, ok := restartCause(err, s.nodes.world > 1)
		if !ok || ctx.Err() != nil {
			return &res, err
		}
		if restarts >= r.Train.MaxRestarts {
			return &res, fmt.Errorf("%w (gave up after %d restarts: train.max_restarts)", err, restarts)
		}
		restarts++
		s.generation++
		fmt.Fprintf(s.log, "%s at step %d (%s); restarting the plugins and resuming from %s (restart %d of at most %d)\n",
			cause.what, res.Steps, cause.detail, cause.from(), restarts, r.Train.MaxRestarts)
		fmt.Fprintf(s.opt.Progress, "%s (%s): restarting from %s\n", cause.what, cause.detail, cause.from())
		_ = s.LogMetric("train/restarts", float64(restarts), int64(res.Steps))
		cfg.Resume, cfg.MustResume, cfg.ResumeAt = true, false, 0 // no checkpoint yet: step 0 again
		if cause.at != nil {
			cfg.Resume, cfg.ResumeAt = *cause.at > 0, *cause.at
		}
		if parts, err = s.startPretrainRestarting(ctx, total, &restarts, res.Steps); err != nil {
			return &res, fmt.Errorf("restart after %s: %w", cause.what, err)
		}
	}
}

// finishPretrain records the outcome and keeps the final encoder states.
func (s *session) finishPretrain(ctx context.Context, res train.Result, parts *pretrainParts) (*train.Result, error) {
	for _, sk := range res.SkippedCheckpoints {
		fmt.Fprintf(s.log, "skipped corrupt checkpoint %s\n", sk)
	}
	fmt.Fprintf(s.log, "pretraining stopped (%s) after %d steps, %d epochs, last loss %.4f, %.1f pairs/s\n",
		res.StopReason, res.Steps, res.Epochs, res.LastLoss, res.ItemsPerSec)
	_ = s.tracker.LogMetrics([]runs.Metric{{Key: "train/items_per_sec", Value: res.ItemsPerSec, Step: int64(res.Steps), Time: time.Now()}})
	tags := map[string]string{"train.stop_reason": res.StopReason}
	if !math.IsNaN(res.MinValLoss) {
		fmt.Fprintf(s.log, "lowest validation loss %.6g at step %d, kept in %s\n", res.MinValLoss, res.BestStep, filepath.Join(runs.CheckpointsDir, train.BestFile))
		tags["train.best_step"] = strconv.Itoa(res.BestStep)
		tags["train.best_val_loss"] = strconv.FormatFloat(res.MinValLoss, 'g', -1, 64)
		tags["train.best_checkpoint"] = filepath.ToSlash(filepath.Join(runs.CheckpointsDir, train.BestFile))
	}
	if err := s.tracker.SetTags(tags); err != nil {
		return &res, err
	}
	s.trained.result = res
	s.states = map[string][]byte{}
	for role, enc := range map[string]train.Encoder{"image": parts.image, "text": parts.text} {
		if enc == nil {
			continue // no text encoder: the loss needed none (textEncoderNeeded)
		}
		st, err := enc.State(ctx)
		if err != nil {
			return &res, fmt.Errorf("%s encoder state: %w", role, err)
		}
		s.states[role] = st
	}
	return &res, nil
}

// pretrainOutcome is what the evaluations need to know of this run's
// pretraining to pick its best or last weights.
type pretrainOutcome struct {
	valSplit    string // "" when data.pretrain has no validation split
	checkpoints string // the checkpoint directory
	result      train.Result
}

// barAdapter lets a progress bar receive the training loop's progress.
type barAdapter struct{ b *progress.Bar }

func (a barAdapter) Add(n int)            { a.b.Add(int64(n)) }
func (a barAdapter) From(step int)        { a.b.From(int64(step)) }
func (a barAdapter) Describe(text string) { a.b.Describe(text) }

// pretrainSplits picks the training split ("train", or the dataset's only
// split) and a validation split ("validate", "valid" or "val") when the
// dataset has a non-empty one.
func pretrainSplits(ctx context.Context, d *host.Dataset) (trainSplit, valSplit string, err error) {
	names, err := d.Splits(ctx)
	if err != nil {
		return "", "", err
	}
	if len(names) == 0 {
		return "", "", errors.New("the dataset has no splits")
	}
	nonEmpty := func(name string) bool {
		for _, n := range names {
			if n == name {
				info, err := d.Describe(ctx, name)
				return err == nil && info.Len > 0
			}
		}
		return false
	}
	trainSplit = names[0]
	if nonEmpty("train") {
		trainSplit = "train"
	}
	for _, v := range []string{"validate", "valid", "val"} {
		if nonEmpty(v) {
			return trainSplit, v, nil
		}
	}
	return trainSplit, "", nil
}
