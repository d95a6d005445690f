package experiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// ftProbe is one fine-tuning run in progress: a fresh encoder and head
// trained on one labelled subset.
type ftProbe struct {
	er       *evalRun
	plan     *ftPlan
	enc      trainable
	ds       batcher
	seed     int
	rows     []int // the labelled subset (train indices)
	key      string
	headDone bool     // the head is configured (its input size is known after the first forward)
	pending  *float64 // validation loss for the encoder's next step (plateau schedules)
	bar      *progress.Bar
}

// finetuneProbe trains a fresh encoder and head on the seed's stratified
// subset of fraction of the training pool and returns the test
// probabilities with the test labels, as protocol "score" takes them.
func (er *evalRun) finetuneProbe(ctx context.Context, plan *ftPlan, init string, fraction float64, seed int) (*sdk.FeatureSet, error) {
	idx, err := subset.Stratified(plan.poolLabels, fraction, int64(seed))
	if err != nil {
		return nil, fmt.Errorf("labelled subset: %w", err)
	}
	if len(idx) < 2 {
		return nil, fmt.Errorf("the labelled subset has %d example: fine-tuning needs at least 2", len(idx))
	}
	pr := &ftProbe{er: er, plan: plan, seed: seed, rows: make([]int, len(idx)),
		key: metricKey("finetune/" + cellName(er.e.Name, "finetune", init, fraction) + "/seed-" + strconv.Itoa(seed))}
	for j, i := range idx {
		pr.rows[j] = plan.pool[i]
	}
	ft := er.e.Finetune
	total := ft.Epochs * len(batchesOf(pr.rows, ft.BatchSize))
	enc, err := er.finetuneEncoder(ctx, init, total)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	pr.enc, pr.ds = enc, er.data.client
	pr.bar = progress.New(er.s.opt.Progress, int64(total), fmt.Sprintf("finetune %s %s f=%g seed %d", er.e.Name, init, fraction, seed))
	defer pr.bar.Finish()
	if err := pr.train(ctx); err != nil {
		return nil, err
	}
	return pr.test(ctx)
}

// test returns the head's probabilities for the test rows with their
// labels and ids.
func (pr *ftProbe) test(ctx context.Context) (*sdk.FeatureSet, error) {
	p := pr.plan
	test, err := encodeRows(ctx, pr.enc, pr.ds, p.testSplit, p.testRows, p.names)
	if err != nil {
		return nil, fmt.Errorf("test features: %w", err)
	}
	res, err := pr.er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{sdk.SplitTest: test}})
	if err != nil {
		return nil, fmt.Errorf("test predictions: %w", err)
	}
	if len(res.Predictions) != 1 || res.Predictions[0].Scores == nil {
		return nil, fmt.Errorf("test predictions: the evaluator returned %d predictions, want 1", len(res.Predictions))
	}
	return &sdk.FeatureSet{Features: res.Predictions[0].Scores, Labels: test.Labels, IDs: test.IDs, LabelNames: p.names}, nil
}

// train runs the epochs with validation after each, early stopping after
// patience epochs without a lower validation loss, and leaves the encoder
// and head of the best epoch in place (the last one without validation).
func (pr *ftProbe) train(ctx context.Context) error {
	ft := pr.er.e.Finetune
	log := pr.er.s.log
	best, bestEpoch, bad, last := math.Inf(1), -1, 0, -1
	var bestState []byte
	for epoch := 0; epoch < ft.Epochs; epoch++ {
		last = epoch
		loss, err := pr.epoch(ctx, epoch)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
		_ = pr.er.s.LogMetric(pr.key+"/train_loss", loss, int64(epoch))
		if pr.plan.valRows == nil {
			fmt.Fprintf(log, "%s epoch %d: train loss %.4f\n", pr.key, epoch, loss)
			continue
		}
		val, err := pr.validate(ctx)
		if err != nil {
			return fmt.Errorf("epoch %d: validation: %w", epoch, err)
		}
		_ = pr.er.s.LogMetric(pr.key+"/val_loss", val, int64(epoch))
		fmt.Fprintf(log, "%s epoch %d: train loss %.4f, validation loss %.4f\n", pr.key, epoch, loss, val)
		pr.bar.Describe(fmt.Sprintf("epoch %d loss %.4f val %.4f", epoch, loss, val))
		pr.pending = &val
		if val < best {
			best, bestEpoch, bad = val, epoch, 0
			if epoch == ft.Epochs-1 {
				break // the final weights are the best: nothing to keep
			}
			if bestState, err = pr.enc.State(ctx); err != nil {
				return fmt.Errorf("keep the best encoder: %w", err)
			}
			if _, err := pr.er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolSnapshot}); err != nil {
				return fmt.Errorf("keep the best head: %w", err)
			}
			continue
		}
		if bad++; ft.Patience > 0 && bad >= ft.Patience {
			fmt.Fprintf(log, "%s: early stop after epoch %d (no lower validation loss for %d epochs)\n", pr.key, epoch, bad)
			break
		}
	}
	if bestEpoch >= 0 && bestEpoch != last {
		if err := pr.enc.SetState(ctx, bestState); err != nil {
			return fmt.Errorf("restore the best encoder: %w", err)
		}
		if _, err := pr.er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err != nil {
			return fmt.Errorf("restore the best head: %w", err)
		}
	}
	if bestEpoch >= 0 {
		fmt.Fprintf(log, "%s: testing epoch %d (validation loss %.4f) of %d run\n", pr.key, bestEpoch, best, last+1)
	}
	return nil
}

// epoch trains one pass over the subset in a seeded order and returns the
// mean training loss.
func (pr *ftProbe) epoch(ctx context.Context, epoch int) (float64, error) {
	ft, r := pr.er.e.Finetune, pr.er.s.r
	order := append([]int(nil), pr.rows...)
	rng := rand.New(rand.NewPCG(uint64(pr.seed), uint64(epoch)))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	augSeed := int64(r.Seed)*1_000_003 + int64(pr.seed)
	var reqs []sdk.BatchRequest
	for _, b := range batchesOf(order, ft.BatchSize) {
		reqs = append(reqs, sdk.BatchRequest{Split: pr.plan.trainSplit, Indices: b, Augment: ft.Augment, Seed: augSeed, Epoch: epoch})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sum float64
	n := 0
	for f := range prefetch(ctx, pr.ds, reqs) {
		if f.err != nil {
			return 0, f.err
		}
		if len(f.b.IDs) == 0 { // every sample failed to load; the dataset counted them
			pr.bar.Add(1)
			continue
		}
		loss, err := pr.step(ctx, f.b)
		if err != nil {
			return 0, err
		}
		sum, n = sum+loss, n+1
		pr.bar.Add(1)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if n == 0 && len(reqs) > 0 {
		return 0, fmt.Errorf("split %q: all %d batches of epoch %d came back empty (every sample failed to load)", pr.plan.trainSplit, len(reqs), epoch+1)
	}
	return sum / float64(max(n, 1)), nil
}

// step is one split training step: the encoder's features with a graph,
// the head's loss and gradient from the evaluator (which steps the head),
// the encoder's backward and optimiser step.
func (pr *ftProbe) step(ctx context.Context, b *sdk.Batch) (float64, error) {
	if b.Labels == nil {
		return 0, fmt.Errorf("split %q: a batch came without labels", pr.plan.trainSplit)
	}
	feats, err := pr.enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{IDs: b.IDs, Images: b.Images}, Train: true, Graph: true, Output: sdk.OutputFeatures})
	if err != nil {
		return 0, fmt.Errorf("image encoder forward: %w", err)
	}
	if len(feats.Shape) != 2 || int(feats.Shape[0]) != len(b.IDs) {
		return 0, fmt.Errorf("image encoder returned features of shape %v for %d images", feats.Shape, len(b.IDs))
	}
	if !pr.headDone {
		if err := pr.er.configureHead(ctx, pr.plan.task, int(feats.Shape[1]), len(pr.plan.names), pr.seed); err != nil {
			return 0, err
		}
		pr.headDone = true
	}
	loss, grad, err := pr.er.ev.Grad(ctx, feats, b.Labels)
	if err != nil {
		return 0, fmt.Errorf("evaluator: %w", err)
	}
	if err := pr.enc.Backward(ctx, grad); err != nil {
		return 0, fmt.Errorf("image encoder backward: %w", err)
	}
	if err := pr.enc.Step(ctx, sdk.StepRequest{ValLoss: pr.pending}); err != nil {
		return 0, fmt.Errorf("image encoder step: %w", err)
	}
	pr.pending = nil
	return loss, nil
}

// validate returns the head's mean loss on the validation rows.
func (pr *ftProbe) validate(ctx context.Context) (float64, error) {
	fs, err := encodeRows(ctx, pr.enc, pr.ds, pr.plan.valSplit, pr.plan.valRows, pr.plan.names)
	if err != nil {
		return 0, err
	}
	res, err := pr.er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{sdk.SplitVal: fs}})
	if err != nil {
		return 0, err
	}
	loss, ok := res.Metrics[sdk.LossKey]
	if !ok || math.IsNaN(loss) {
		return 0, fmt.Errorf(`the evaluator's "predict" returned no loss (metrics %v)`, res.Metrics)
	}
	return loss, nil
}

// batchesOf cuts rows into batches of size; a last batch of one row joins
// the one before (batch normalisation cannot train on one image).
func batchesOf(rows []int, size int) [][]int {
	var out [][]int
	for lo := 0; lo < len(rows); lo += size {
		out = append(out, rows[lo:min(lo+size, len(rows))])
	}
	if n := len(out); n > 1 && len(out[n-1]) == 1 {
		out[n-2] = append(append([]int(nil), out[n-2]...), out[n-1]...)
		out = out[:n-1]
	}
	return out
}
