package experiment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

// closer is anything the run must close on the way out.
type closer interface{ Close() error }

// closeAll closes the plugins in reverse order of start.
func closeAll(cs []closer) {
	for i := len(cs) - 1; i >= 0; i-- {
		_ = cs[i].Close()
	}
}

// pretrain trains the image and text encoders with the loss on the
// pretraining dataset, checkpointing into the run, and keeps the final
// encoder states for the evaluations.
func (s *session) pretrain(ctx context.Context) (*train.Result, error) {
	r, l := s.r, s.opt.Launcher
	var open []closer
	defer func() { closeAll(open) }()

	dcfg := s.withRunDefaults(r.Data.Pretrain.Plugin, r.Data.Pretrain.Config, map[string]any{"text_sampling": r.Train.TextSampling})
	data, err := l.Dataset(ctx, r.Data.Pretrain.Plugin, dcfg)
	if err != nil {
		return nil, fmt.Errorf("data.pretrain: %w", err)
	}
	open = append(open, data)
	trainSplit, valSplit, err := pretrainSplits(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("data.pretrain (plugin %q): %w", r.Data.Pretrain.Plugin, err)
	}
	info, err := data.Describe(ctx, trainSplit)
	if err != nil {
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

	image, err := l.Encoder(ctx, r.ImageEncoder.Plugin, s.encoderConfig(r.ImageEncoder.Plugin, r.ImageEncoder.Config, total, false))
	if err != nil {
		return nil, fmt.Errorf("image_encoder: %w", err)
	}
	open = append(open, image)
	text, err := l.Encoder(ctx, r.TextEncoder.Plugin, s.encoderConfig(r.TextEncoder.Plugin, r.TextEncoder.Config, total, false))
	if err != nil {
		return nil, fmt.Errorf("text_encoder: %w", err)
	}
	open = append(open, text)
	loss, err := l.Loss(ctx, r.Loss.Plugin, r.Loss.Config)
	if err != nil {
		return nil, fmt.Errorf("loss: %w", err)
	}
	open = append(open, loss)

	cfg := train.Config{
		BatchSize: r.Train.BatchSize, Epochs: r.Train.Epochs, MaxSteps: r.Train.MaxSteps,
		MaxDuration: time.Duration(r.Train.MaxMinutes * float64(time.Minute)),
		Seed:        int64(r.Seed), TrainSplit: trainSplit, ValSplit: valSplit, ValMaxBatches: r.Train.ValBatches,
		Augment: true, Prefetch: r.Train.Prefetch, GradCacheChunk: r.Train.GradCache.Chunk,
		EarlyStopPatience: r.Train.EarlyStopping.Patience, EarlyStopMinDelta: r.Train.EarlyStopping.MinDelta,
		CheckpointEvery: r.Train.CheckpointEvery, CheckpointDir: s.runPath(runs.CheckpointsDir),
		Resume: s.opt.Resume != "",
	}
	bar := progress.New(s.opt.Progress, int64(total), "pretraining")
	fmt.Fprintf(s.log, "pretraining on %s/%s (%d pairs, %d steps per epoch), validation on %q\n", r.Data.Pretrain.Plugin, trainSplit, info.Len, perEpoch, valSplit)
	res, err := train.Run(ctx, cfg, train.Parts{Image: image, Text: text, Loss: loss, Data: data, Recorder: s, Progress: barAdapter{bar}})
	bar.Finish()
	if err != nil {
		return &res, err
	}
	for _, sk := range res.SkippedCheckpoints {
		fmt.Fprintf(s.log, "skipped corrupt checkpoint %s\n", sk)
	}
	fmt.Fprintf(s.log, "pretraining stopped (%s) after %d steps, %d epochs, last loss %.4f, %.1f pairs/s\n",
		res.StopReason, res.Steps, res.Epochs, res.LastLoss, res.ItemsPerSec)
	_ = s.tracker.LogMetrics([]runs.Metric{{Key: "train/items_per_sec", Value: res.ItemsPerSec, Step: int64(res.Steps), Time: time.Now()}})
	if err := s.tracker.SetTags(map[string]string{"train.stop_reason": res.StopReason}); err != nil {
		return &res, err
	}
	s.states = map[string][]byte{}
	for role, enc := range map[string]*host.Encoder{"image": image, "text": text} {
		st, err := enc.State(ctx)
		if err != nil {
			return &res, fmt.Errorf("%s encoder state: %w", role, err)
		}
		s.states[role] = st
	}
	return &res, nil
}

// barAdapter lets a progress bar receive the training loop's progress.
type barAdapter struct{ b *progress.Bar }

func (a barAdapter) Add(n int)            { a.b.Add(int64(n)) }
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
