package train

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"golang.org/x/sync/errgroup"
)

// step runs one ConVIRT step on b and returns the loss's result (its
// value and chance level; the gradients are spent).
func (l *loop) step(ctx context.Context, b *sdk.Batch) (sdk.LossResult, error) {
	if l.local != nil {
		return l.local.step(ctx, l, b)
	}
	if l.cfg.GradCacheChunk > 0 {
		return l.gradCacheStep(ctx, b)
	}
	res, err := l.compute(ctx, b, true)
	if err != nil {
		return sdk.LossResult{}, err
	}
	if err := l.backwardBoth(ctx, res.GradV, res.GradU); err != nil {
		return sdk.LossResult{}, err
	}
	return res, l.stepAll(ctx)
}

// compute embeds b with both encoders, in training mode, with a graph or
// without, and returns the loss of the embeddings with their gradients.
func (l *loop) compute(ctx context.Context, b *sdk.Batch, graph bool) (sdk.LossResult, error) {
	v, u, err := l.forwardBoth(ctx, b, graph)
	if err != nil {
		return sdk.LossResult{}, err
	}
	res, err := l.p.Loss.Compute(ctx, v, u)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("loss: %w", err)
	}
	return res, nil
}

// forwardBoth runs the image and text encoders (see both).
func (l *loop) forwardBoth(ctx context.Context, b *sdk.Batch, graph bool) (v, u *tensor.Tensor, err error) {
	err = l.both(ctx, named("image encoder forward", func(ctx context.Context) (err error) {
		v, err = l.p.Image.Forward(ctx, sdk.ForwardRequest{Batch: imagesOnly(b), Train: true, Graph: graph})
		return err
	}), named("text encoder forward", func(ctx context.Context) (err error) {
		u, err = l.p.Text.Forward(ctx, sdk.ForwardRequest{Batch: textsOnly(b), Train: true, Graph: graph})
		return err
	}))
	return v, u, err
}

func (l *loop) backwardBoth(ctx context.Context, gv, gu *tensor.Tensor) error {
	return l.both(ctx, named("image encoder backward", func(ctx context.Context) error {
		return l.p.Image.Backward(ctx, gv)
	}), named("text encoder backward", func(ctx context.Context) error {
		return l.p.Text.Backward(ctx, gu)
	}))
}

// named wraps the error of call with what failed.
func named(what string, call func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := call(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// both runs one call on the image encoder and one on the text encoder: at
// the same time, each encoder's process on its share of the cores, or with
// Config.SequentialEncoders one after the other, each free to use them all.
func (l *loop) both(ctx context.Context, image, text func(context.Context) error) error {
	if l.cfg.SequentialEncoders {
		if err := image(ctx); err != nil {
			return err
		}
		return text(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return image(gctx) })
	g.Go(func() error { return text(gctx) })
	return g.Wait()
}

// stepAll applies every optimiser (the loss's beside the encoders'); a
// pending validation loss goes to the encoders' plateau schedules with the
// first step after it.
func (l *loop) stepAll(ctx context.Context) error {
	req := sdk.StepRequest{ValLoss: l.st.PendingVal}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return l.both(gctx, named("image encoder step", func(ctx context.Context) error {
			return l.p.Image.Step(ctx, req)
		}), named("text encoder step", func(ctx context.Context) error {
			if l.p.Text == nil {
				return nil // a loss that needs no text encoder
			}
			return l.p.Text.Step(ctx, req)
		}))
	})
	g.Go(func() error { return named("loss step", l.p.Loss.Step)(gctx) })
	if err := g.Wait(); err != nil {
		return err
	}
	l.st.PendingVal = nil
	return nil
}

// gradCacheStep computes all embeddings without a graph, the loss and its
// gradients on the whole batch, then lets each encoder recompute chunks with
// a graph and back-propagate the matching gradient rows. Gradients equal the
// plain step's whenever the forward is deterministic per sample.
func (l *loop) gradCacheStep(ctx context.Context, b *sdk.Batch) (sdk.LossResult, error) {
	res, err := l.compute(ctx, b, false)
	if err != nil {
		return sdk.LossResult{}, err
	}
	n := len(b.IDs)
	if b.Images != nil && len(b.Images.Shape) > 0 {
		n = int(b.Images.Shape[0])
	}
	for lo := 0; lo < n; lo += l.cfg.GradCacheChunk {
		hi := min(lo+l.cfg.GradCacheChunk, n)
		cb, err := sliceBatch(b, lo, hi)
		if err != nil {
			return sdk.LossResult{}, err
		}
		gv, err := sliceRows(res.GradV, lo, hi)
		if err != nil {
			return sdk.LossResult{}, err
		}
		gu, err := sliceRows(res.GradU, lo, hi)
		if err != nil {
			return sdk.LossResult{}, err
		}
		if _, _, err := l.forwardBoth(ctx, cb, true); err != nil {
			return sdk.LossResult{}, err
		}
		if err := l.backwardBoth(ctx, gv, gu); err != nil {
			return sdk.LossResult{}, err
		}
	}
	return res, l.stepAll(ctx)
}

// validate computes the mean loss on the validation split (no graph, no
// optimiser step), updates early stopping and keeps the best checkpoint.
// Its batches are plain (unaugmented) ones: the dataset gives each pair the
// text training would, with sentence sampling one sentence fixed per pair,
// so the loss is the training objective on held-out pairs.
//
// Its batches are abandoned when ctx is cancelled (state.ValDue then has the
// next run validate again); once the loss is known, the bookkeeping and the
// best checkpoint are finished whatever ctx says.
func (l *loop) validate(ctx context.Context) error {
	if l.cfg.ValSplit == "" {
		l.st.ValDue = false
		return nil
	}
	info, err := l.p.Data.Describe(ctx, l.cfg.ValSplit)
	if err != nil {
		return fmt.Errorf("describe split %q: %w", l.cfg.ValSplit, err)
	}
	batches := info.Len / l.cfg.BatchSize
	if l.cfg.ValMaxBatches > 0 {
		batches = min(batches, l.cfg.ValMaxBatches)
	}
	if batches == 0 {
		l.st.ValDue = false
		return nil
	}
	total, n := 0.0, 0
	for i := range batches {
		idx := make([]int, l.cfg.BatchSize)
		for j := range idx {
			idx[j] = i*l.cfg.BatchSize + j
		}
		b, err := l.p.Data.Batch(ctx, sdk.BatchRequest{Split: l.cfg.ValSplit, Indices: idx, Seed: l.cfg.Seed})
		if err != nil {
			return fmt.Errorf("validation batch %d: %w", i, err)
		}
		if len(b.IDs) == 0 {
			continue // every sample failed to load; the dataset counted them
		}
		n++
		if l.local != nil {
			res, err := l.local.compute(ctx, l, b, false)
			if err != nil {
				return fmt.Errorf("validation: %w", err)
			}
			total += res.Loss
			continue
		}
		v, err := l.p.Image.Forward(ctx, sdk.ForwardRequest{Batch: imagesOnly(b)})
		if err != nil {
			return fmt.Errorf("validation: image encoder forward: %w", err)
		}
		u, err := l.p.Text.Forward(ctx, sdk.ForwardRequest{Batch: textsOnly(b)})
		if err != nil {
			return fmt.Errorf("validation: text encoder forward: %w", err)
		}
		res, err := l.p.Loss.Compute(ctx, v, u)
		if err != nil {
			return fmt.Errorf("validation loss: %w", err)
		}
		total += res.Loss
	}
	if n == 0 {
		return fmt.Errorf("validation: all %d batches of split %q came back empty (every sample failed to load)", batches, l.cfg.ValSplit)
	}
	val := total / float64(n)
	ctx = context.WithoutCancel(ctx)
	l.st.ValDue = false
	l.st.LastVal, l.st.HasLastVal = val, true
	l.record("val/loss", val)
	l.st.PendingVal = &val
	if !l.st.HasBest || val < l.st.BestVal-l.cfg.EarlyStopMinDelta {
		l.st.BestVal, l.st.HasBest = val, true
		l.st.BadVals = 0
	} else {
		l.st.BadVals++
	}
	return l.keepBest(ctx, val)
}

func imagesOnly(b *sdk.Batch) *sdk.Batch { return &sdk.Batch{IDs: b.IDs, Images: b.Images} }
func textsOnly(b *sdk.Batch) *sdk.Batch  { return &sdk.Batch{IDs: b.IDs, Texts: b.Texts} }

// sliceRows returns rows [lo,hi) of a tensor along its first axis.
func sliceRows(t *tensor.Tensor, lo, hi int) (*tensor.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.Shape) == 0 || int64(hi) > t.Shape[0] || lo < 0 || lo > hi {
		return nil, fmt.Errorf("slice rows [%d,%d) of a %v tensor", lo, hi, t.Shape)
	}
	row := int(tensor.Numel(t.Shape[1:])) * t.DType.Size()
	shape := append([]int64{int64(hi - lo)}, t.Shape[1:]...)
	return &tensor.Tensor{DType: t.DType, Shape: shape, Data: t.Data[lo*row : hi*row]}, nil
}

func sliceBatch(b *sdk.Batch, lo, hi int) (*sdk.Batch, error) {
	out := &sdk.Batch{LabelNames: b.LabelNames}
	if len(b.IDs) >= hi {
		out.IDs = b.IDs[lo:hi]
	}
	if len(b.Texts) >= hi {
		out.Texts = b.Texts[lo:hi]
	}
	var err error
	if out.Images, err = sliceRows(b.Images, lo, hi); err != nil {
		return nil, err
	}
	if out.Labels, err = sliceRows(b.Labels, lo, hi); err != nil {
		return nil, err
	}
	return out, nil
}

// lrReporter is an encoder that reports the learning rate of its last step
// (core/host's client of a plugin that implements sdk.LearningRater).
type lrReporter interface {
	LearningRate() (float64, bool)
}

// recordLR records the learning rates of the step just taken, as the
// encoders report them: train/lr (the image encoder's) and train/text_lr.
func (l *loop) recordLR() {
	if r, ok := l.p.Image.(lrReporter); ok {
		if lr, ok := r.LearningRate(); ok {
			l.lr, l.hasLR = lr, true
			l.record("train/lr", lr)
		}
	}
	if r, ok := l.p.Text.(lrReporter); ok {
		if lr, ok := r.LearningRate(); ok {
			l.record("train/text_lr", lr)
		}
	}
}
