package experiment

import (
	"context"
	"fmt"
	"strconv"

	"github.com/convirt/convirt/core/features"
	"github.com/convirt/convirt/core/finetune"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// finetuneProtocol trains the whole image encoder with the evaluator's head
// (docs/evaluators.md, protocol finetune; the loop is core/finetune).
type finetuneProtocol struct{ perFraction }

// run trains at every label fraction and seed: one fresh encoder with
// init's weights and one fresh head per probe, trained on a stratified
// subset of the training labels with early stopping on the validation
// loss; the probes' test probabilities are scored by the evaluator
// ("score") and recorded like linear's. Every probe starts its own encoder
// with the fine-tuning optimiser.
func (finetuneProtocol) run(ctx context.Context, er *evalRun, init string) error {
	plan, err := er.finetunePlan(ctx)
	if err != nil {
		return err
	}
	for _, f := range er.e.Fractions {
		splits := map[string]*sdk.FeatureSet{}
		seeds := make([]any, len(er.e.Seeds))
		for i, seed := range er.e.Seeds {
			seeds[i] = seed
			probs, err := er.finetuneProbe(ctx, plan, init, f, seed)
			if err != nil {
				return fmt.Errorf("fraction %v seed %d: %w", f, seed, err)
			}
			splits[sdk.SeedSplit(int64(seed))] = probs
		}
		res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolScore, Splits: splits,
			Params: map[string]any{"task": plan.Task, "seeds": seeds}})
		if err != nil {
			return fmt.Errorf("fraction %v: score: %w", f, err)
		}
		if err := er.record(ctx, sdk.ProtocolFinetune, init, f, res, plan.Task); err != nil {
			return err
		}
		if er.bar != nil {
			er.bar.Add(1)
		}
	}
	return nil
}

// finetunePlan picks the splits, reads the training labels and holds out
// the validation rows: the dataset's validation split when it has one
// besides the test split, else a stratified val_fraction of train (seeded
// by val_seed, so every probe and init validates on the same rows) drawn
// by whole patients where the dataset names them (subset.Holdout), so that
// no patient has images on both sides.
func (er *evalRun) finetunePlan(ctx context.Context) (*finetune.Plan, error) {
	l, err := er.labelled(ctx)
	if err != nil {
		return nil, err
	}
	trainSplit, valSplit, testSplit, info := l.train, l.val, l.test, l.info
	switch info.Task {
	case sdk.TaskBinary, sdk.TaskMultilabel, sdk.TaskMulticlass:
	default:
		return nil, fmt.Errorf("dataset %q split %q has task %q: fine-tuning needs binary, multilabel or multiclass labels", er.data.plugin, testSplit, info.Task)
	}
	p := &finetune.Plan{TrainSplit: trainSplit, TestSplit: testSplit, Task: info.Task, Names: info.LabelNames}
	if p.TestRows, err = allRows(ctx, er.data.client, testSplit); err != nil {
		return nil, err
	}
	lab, err := er.s.cache().Labels(ctx, er.data.source(), trainSplit)
	if err != nil {
		return nil, err
	}
	var readable []int
	for i, row := range lab.Rows {
		if row != nil {
			readable = append(readable, i)
		}
	}
	if len(readable) == 0 {
		return nil, fmt.Errorf("split %q has no readable samples", trainSplit)
	}
	ft := er.e.Finetune
	held := map[int]bool{}
	switch {
	case valSplit != "":
		p.ValSplit = valSplit
		if p.ValRows, err = allRows(ctx, er.data.client, valSplit); err != nil {
			return nil, err
		}
	case ft.ValFraction > 0:
		idx, err := subset.Holdout(rowsOf(lab.Rows, readable), groupsOf(lab.Groups, readable), ft.ValFraction, int64(ft.ValSeed))
		if err != nil {
			return nil, fmt.Errorf("holding out validation rows: %w", err)
		}
		p.ValSplit = trainSplit
		for _, j := range idx {
			p.ValRows = append(p.ValRows, readable[j])
			held[readable[j]] = true
		}
	}
	for _, i := range readable {
		if !held[i] {
			p.Pool = append(p.Pool, i)
		}
	}
	if len(p.Pool) < 2 {
		return nil, fmt.Errorf("split %q leaves %d training rows after holding out %d for validation: fine-tuning needs at least 2", trainSplit, len(p.Pool), len(p.ValRows))
	}
	p.PoolLabels = rowsOf(lab.Rows, p.Pool)
	fmt.Fprintf(er.s.log, "finetune %s: %s task, %d training rows, %d validation rows (%s), %d test rows (%s)\n",
		er.e.Name, p.Task, len(p.Pool), len(p.ValRows), p.ValSplit, len(p.TestRows), testSplit)
	return p, nil
}

// allRows lists the indices of a split.
func allRows(ctx context.Context, ds *host.Dataset, split string) ([]int, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	return features.Span(0, info.Len), nil
}

// groupsOf picks the groups of rows idx of all (nil stays nil: no groups).
func groupsOf(all []string, idx []int) []string {
	if all == nil {
		return nil
	}
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = all[i]
	}
	return out
}

// rowsOf picks rows idx of all.
func rowsOf(all [][]float32, idx []int) [][]float32 {
	out := make([][]float32, len(idx))
	for j, i := range idx {
		out[j] = all[i]
	}
	return out
}

// finetuneProbe trains a fresh encoder and head on the seed's stratified
// subset of fraction of the training pool and returns the test
// probabilities with the test labels, as protocol "score" takes them.
func (er *evalRun) finetuneProbe(ctx context.Context, plan *finetune.Plan, init string, fraction float64, seed int) (*sdk.FeatureSet, error) {
	rows, err := plan.Subset(fraction, seed)
	if err != nil {
		return nil, err
	}
	pr := &ftProbe{er: er, plan: plan, seed: seed, rows: rows,
		key: metricKey("finetune/" + cellName(er.e.Name, sdk.ProtocolFinetune, init, fraction) + "/seed-" + strconv.Itoa(seed))}
	ft := er.e.Finetune
	total := ft.Epochs * len(finetune.BatchesOf(pr.rows, ft.BatchSize))
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

// ftProbe is one probe of an evaluation: the parts the host starts for it
// (set before the first call), and the loop of core/finetune driving them.
type ftProbe struct {
	er   *evalRun
	plan *finetune.Plan
	enc  finetune.Trainable
	ds   features.Batcher
	seed int
	rows []int // the labelled subset (train indices)
	key  string
	bar  *progress.Bar
	loop *finetune.Probe
}

// probe is the loop of pr, made at the first call from pr's parts and its
// evaluation's settings.
func (pr *ftProbe) probe() *finetune.Probe {
	if pr.loop == nil {
		ft := pr.er.e.Finetune
		pr.loop = &finetune.Probe{Plan: pr.plan, Enc: pr.enc, Data: pr.ds, Head: pr.er.ev, ConfigureHead: pr.er.configureHead,
			Settings: finetune.Settings{Epochs: ft.Epochs, BatchSize: ft.BatchSize, Patience: ft.Patience, Augment: ft.Augment},
			Seed:     pr.seed, AugSeed: int64(pr.er.s.r.Seed)*1_000_003 + int64(pr.seed), Rows: pr.rows, Key: pr.key,
			Log: pr.er.s.log, LogMetric: pr.er.s.LogMetric, Bar: pr.bar}
	}
	return pr.loop
}

func (pr *ftProbe) train(ctx context.Context) error                   { return pr.probe().Train(ctx) }
func (pr *ftProbe) test(ctx context.Context) (*sdk.FeatureSet, error) { return pr.probe().Test(ctx) }
func (pr *ftProbe) validate(ctx context.Context) (float64, error)     { return pr.probe().Validate(ctx) }
func (pr *ftProbe) epoch(ctx context.Context, e int) (float64, error) {
	return pr.probe().Epoch(ctx, e)
}
