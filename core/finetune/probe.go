package finetune

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/convirt/convirt/core/features"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/sdk"
)

// Probe is one fine-tuning run: a fresh encoder and head trained on one
// labelled subset. Its fields are set by the caller before Train.
type Probe struct {
	Plan *Plan
	Enc  Trainable
	Data features.Batcher
	Head Head
	// ConfigureHead gives the evaluator a fresh head before the first step,
	// when the features' width (in) is known.
	ConfigureHead func(ctx context.Context, task string, in, out, seed int) error
	Settings      Settings
	Seed          int   // the probe's seed: its subset and epoch orders
	AugSeed       int64 // the augmentations' seed (sdk.BatchRequest.Seed)
	Rows          []int // the labelled subset (train indices)
	// Key prefixes the probe's metrics and names it in the log.
	Key       string
	Log       io.Writer
	LogMetric func(key string, value float64, step int64) error
	Bar       *progress.Bar // one step per batch; may be nil

	headDone bool     // the head is configured (its input size is known after the first forward)
	pending  *float64 // validation loss for the encoder's next step (plateau schedules)
}

// Steps is the number of training steps of the probe's epochs.
func (pr *Probe) Steps() int {
	return pr.Settings.Epochs * len(BatchesOf(pr.Rows, pr.Settings.BatchSize))
}

// Test returns the head's probabilities for the test rows with their
// labels and ids, as protocol sdk.ProtocolScore takes them.
func (pr *Probe) Test(ctx context.Context) (*sdk.FeatureSet, error) {
	p := pr.Plan
	test, err := features.EncodeRows(ctx, pr.Enc, pr.Data, p.TestSplit, p.TestRows, p.Names)
	if err != nil {
		return nil, fmt.Errorf("test features: %w", err)
	}
	res, err := pr.Head.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{sdk.SplitTest: test}})
	if err != nil {
		return nil, fmt.Errorf("test predictions: %w", err)
	}
	if len(res.Predictions) != 1 || res.Predictions[0].Scores == nil {
		return nil, fmt.Errorf("test predictions: the evaluator returned %d predictions, want 1", len(res.Predictions))
	}
	return &sdk.FeatureSet{Features: res.Predictions[0].Scores, Labels: test.Labels, IDs: test.IDs, LabelNames: p.Names}, nil
}

// Train runs the epochs with validation after each, early stopping after
// patience epochs without a lower validation loss, and leaves the encoder
// and head of the best epoch in place (the last one without validation).
func (pr *Probe) Train(ctx context.Context) error {
	ft := pr.Settings
	log := pr.Log
	best, bestEpoch, bad, last := math.Inf(1), -1, 0, -1
	var bestState []byte
	for epoch := 0; epoch < ft.Epochs; epoch++ {
		last = epoch
		loss, err := pr.Epoch(ctx, epoch)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
		_ = pr.LogMetric(pr.Key+"/train_loss", loss, int64(epoch))
		if pr.Plan.ValRows == nil {
			fmt.Fprintf(log, "%s epoch %d: train loss %.4f\n", pr.Key, epoch, loss)
			continue
		}
		val, err := pr.Validate(ctx)
		if err != nil {
			return fmt.Errorf("epoch %d: validation: %w", epoch, err)
		}
		_ = pr.LogMetric(pr.Key+"/val_loss", val, int64(epoch))
		fmt.Fprintf(log, "%s epoch %d: train loss %.4f, validation loss %.4f\n", pr.Key, epoch, loss, val)
		pr.Bar.Describe(fmt.Sprintf("epoch %d loss %.4f val %.4f", epoch, loss, val))
		pr.pending = &val
		if val < best {
			best, bestEpoch, bad = val, epoch, 0
			if epoch == ft.Epochs-1 {
				break // the final weights are the best: nothing to keep
			}
			if bestState, err = pr.Enc.State(ctx); err != nil {
				return fmt.Errorf("keep the best encoder: %w", err)
			}
			if _, err := pr.Head.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolSnapshot}); err != nil {
				return fmt.Errorf("keep the best head: %w", err)
			}
			continue
		}
		if bad++; ft.Patience > 0 && bad >= ft.Patience {
			fmt.Fprintf(log, "%s: early stop after epoch %d (no lower validation loss for %d epochs)\n", pr.Key, epoch, bad)
			break
		}
	}
	if bestEpoch >= 0 && bestEpoch != last {
		if err := pr.Enc.SetState(ctx, bestState); err != nil {
			return fmt.Errorf("restore the best encoder: %w", err)
		}
		if _, err := pr.Head.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err != nil {
			return fmt.Errorf("restore the best head: %w", err)
		}
	}
	if bestEpoch >= 0 {
		fmt.Fprintf(log, "%s: testing epoch %d (validation loss %.4f) of %d run\n", pr.Key, bestEpoch, best, last+1)
	}
	return nil
}

// Epoch trains one pass over the subset in a seeded order and returns the
// mean training loss.
func (pr *Probe) Epoch(ctx context.Context, epoch int) (float64, error) {
	ft := pr.Settings
	order := append([]int(nil), pr.Rows...)
	rng := rand.New(rand.NewPCG(uint64(pr.Seed), uint64(epoch)))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var reqs []sdk.BatchRequest
	for _, b := range BatchesOf(order, ft.BatchSize) {
		reqs = append(reqs, sdk.BatchRequest{Split: pr.Plan.TrainSplit, Indices: b, Augment: ft.Augment, Seed: pr.AugSeed, Epoch: epoch})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sum float64
	n := 0
	for f := range features.Prefetch(ctx, pr.Data, reqs) {
		if f.Err != nil {
			return 0, f.Err
		}
		if len(f.B.IDs) == 0 { // every sample failed to load; the dataset counted them
			pr.Bar.Add(1)
			continue
		}
		loss, err := pr.step(ctx, f.B)
		if err != nil {
			return 0, err
		}
		sum, n = sum+loss, n+1
		pr.Bar.Add(1)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if n == 0 && len(reqs) > 0 {
		return 0, fmt.Errorf("split %q: all %d batches of epoch %d came back empty (every sample failed to load)", pr.Plan.TrainSplit, len(reqs), epoch+1)
	}
	return sum / float64(max(n, 1)), nil
}

// step is one split training step: the encoder's features with a graph,
// the head's loss and gradient from the evaluator (which steps the head),
// the encoder's backward and optimiser step.
func (pr *Probe) step(ctx context.Context, b *sdk.Batch) (float64, error) {
	if b.Labels == nil {
		return 0, fmt.Errorf("split %q: a batch came without labels", pr.Plan.TrainSplit)
	}
	feats, err := pr.Enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{IDs: b.IDs, Images: b.Images}, Train: true, Graph: true, Output: sdk.OutputFeatures})
	if err != nil {
		return 0, fmt.Errorf("image encoder forward: %w", err)
	}
	if len(feats.Shape) != 2 || int(feats.Shape[0]) != len(b.IDs) {
		return 0, fmt.Errorf("image encoder returned features of shape %v for %d images", feats.Shape, len(b.IDs))
	}
	if !pr.headDone {
		if err := pr.ConfigureHead(ctx, pr.Plan.Task, int(feats.Shape[1]), len(pr.Plan.Names), pr.Seed); err != nil {
			return 0, err
		}
		pr.headDone = true
	}
	loss, grad, err := pr.Head.Grad(ctx, feats, b.Labels)
	if err != nil {
		return 0, fmt.Errorf("evaluator: %w", err)
	}
	if err := pr.Enc.Backward(ctx, grad); err != nil {
		return 0, fmt.Errorf("image encoder backward: %w", err)
	}
	if err := pr.Enc.Step(ctx, sdk.StepRequest{ValLoss: pr.pending}); err != nil {
		return 0, fmt.Errorf("image encoder step: %w", err)
	}
	pr.pending = nil
	return loss, nil
}

// Validate returns the head's mean loss on the validation rows.
func (pr *Probe) Validate(ctx context.Context) (float64, error) {
	fs, err := features.EncodeRows(ctx, pr.Enc, pr.Data, pr.Plan.ValSplit, pr.Plan.ValRows, pr.Plan.Names)
	if err != nil {
		return 0, err
	}
	res, err := pr.Head.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{sdk.SplitVal: fs}})
	if err != nil {
		return 0, err
	}
	loss, ok := res.Metrics[sdk.LossKey]
	if !ok || math.IsNaN(loss) {
		return 0, fmt.Errorf("the evaluator's %q returned no loss (metrics %v)", sdk.ProtocolPredict, res.Metrics)
	}
	return loss, nil
}
