package experiment

import (
	"context"
	"fmt"
	"math"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// ftPlan is what every probe of one fine-tuning evaluation shares: the
// splits, the task, the training pool the subsets are drawn from and the
// validation rows.
type ftPlan struct {
	trainSplit, testSplit string
	task                  string
	names                 []string
	// pool are the train rows the labelled subsets are drawn from, with
	// their labels.
	pool       []int
	poolLabels [][]float32
	// valSplit and valRows are the validation examples (valRows nil: no
	// validation).
	valSplit string
	valRows  []int
	testRows []int
}

// finetune trains the whole image encoder with the evaluator's head at
// every label fraction and seed (docs/evaluators.md, protocol finetune):
// one fresh encoder with init's weights and one fresh head per probe,
// trained on a stratified subset of the training labels with early
// stopping on the validation loss; the probes' test probabilities are
// scored by the evaluator ("score") and recorded like linear's. img is not
// used: every probe starts its own encoder with the fine-tuning optimiser.
func (er *evalRun) finetune(ctx context.Context, init string, _ encoder) error {
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
			Params: map[string]any{"task": plan.task, "seeds": seeds}})
		if err != nil {
			return fmt.Errorf("fraction %v: score: %w", f, err)
		}
		if err := er.record(ctx, "finetune", init, f, res, plan.task); err != nil {
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
func (er *evalRun) finetunePlan(ctx context.Context) (*ftPlan, error) {
	trainSplit, valSplit, testSplit, err := labelSplits(ctx, er.data.client)
	if err != nil {
		return nil, err
	}
	info, err := er.data.client.Describe(ctx, testSplit)
	if err != nil {
		return nil, err
	}
	switch info.Task {
	case sdk.TaskBinary, sdk.TaskMultilabel, sdk.TaskMulticlass:
	default:
		return nil, fmt.Errorf("dataset %q split %q has task %q: fine-tuning needs binary, multilabel or multiclass labels", er.data.plugin, testSplit, info.Task)
	}
	p := &ftPlan{trainSplit: trainSplit, testSplit: testSplit, task: info.Task, names: info.LabelNames}
	if p.testRows, err = allRows(ctx, er.data.client, testSplit); err != nil {
		return nil, err
	}
	lab, err := er.s.labels(ctx, er.data, trainSplit)
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
		p.valSplit = valSplit
		if p.valRows, err = allRows(ctx, er.data.client, valSplit); err != nil {
			return nil, err
		}
	case ft.ValFraction > 0:
		idx, err := subset.Holdout(rowsOf(lab.Rows, readable), groupsOf(lab.Groups, readable), ft.ValFraction, int64(ft.ValSeed))
		if err != nil {
			return nil, fmt.Errorf("holding out validation rows: %w", err)
		}
		p.valSplit = trainSplit
		for _, j := range idx {
			p.valRows = append(p.valRows, readable[j])
			held[readable[j]] = true
		}
	}
	for _, i := range readable {
		if !held[i] {
			p.pool = append(p.pool, i)
		}
	}
	if len(p.pool) < 2 {
		return nil, fmt.Errorf("split %q leaves %d training rows after holding out %d for validation: fine-tuning needs at least 2", trainSplit, len(p.pool), len(p.valRows))
	}
	p.poolLabels = rowsOf(lab.Rows, p.pool)
	fmt.Fprintf(er.s.log, "finetune %s: %s task, %d training rows, %d validation rows (%s), %d test rows (%s)\n",
		er.e.Name, p.task, len(p.pool), len(p.valRows), p.valSplit, len(p.testRows), testSplit)
	return p, nil
}

// allRows lists the indices of a split.
func allRows(ctx context.Context, ds *host.Dataset, split string) ([]int, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	return span(0, info.Len), nil
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

// finetuneEncoder starts a fresh image encoder with init's weights (as
// evalRun.encoder does) and the fine-tuning optimisation of
// finetuneEncoderConfig.
func (er *evalRun) finetuneEncoder(ctx context.Context, init string, totalSteps int) (*host.Encoder, error) {
	ref := er.s.r.ImageEncoder
	cfg, err := er.finetuneEncoderConfig(init, totalSteps)
	if err != nil {
		return nil, err
	}
	c, err := er.s.opt.Launcher.Encoder(ctx, ref.Plugin, cfg)
	if err != nil {
		return nil, fmt.Errorf("image_encoder: %w", err)
	}
	if init != "convirt" {
		return c, nil
	}
	st, err := er.convirtState("image")
	if err == nil {
		err = c.SetState(ctx, st)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("image_encoder: restore the pretrained state: %w", err)
	}
	return c, nil
}

// finetuneEncoderConfig is the image encoder's config for one fine-tuning
// probe: the recipe's finetune optimizer, lr and weight_decay replace
// pretraining's for every key the encoder declares; totalSteps sizes a
// cosine schedule. A plateau schedule's patience is capped at
// plateauPatience, so that its learning-rate cut can fire before early
// stopping ends the probe.
func (er *evalRun) finetuneEncoderConfig(init string, totalSteps int) (map[string]any, error) {
	ref := er.s.r.ImageEncoder
	cfg := er.s.encoderConfig(ref.Plugin, ref.Config, totalSteps, init == "random")
	ft := er.e.Finetune
	// restore_optimizer false: a restored pretraining state brings its
	// weights only, so the fine-tuning optimiser starts fresh at its lr.
	over := map[string]any{"optimizer": ft.Optimizer, "lr": ft.LR, "weight_decay": ft.WeightDecay, "restore_optimizer": false}
	sc, ok := er.s.opt.Launcher.Schema(ref.Plugin)
	if ok {
		for _, f := range sc.Fields {
			if v, ok := over[f.Name]; ok {
				cfg[f.Name] = v
			}
		}
	}
	if w, _ := cfg["weights"].(string); init == "imagenet" && w == "" {
		return nil, fmt.Errorf("init imagenet needs image_encoder.config.weights")
	}
	if kind, _ := cfg["schedule"].(string); kind == "plateau" && ft.Patience > 0 {
		p, ok := intValue(cfg["patience"])
		if !ok {
			return cfg, nil // the encoder declares no plateau patience
		}
		capped, fires := plateauPatience(p, ft.Patience)
		if !fires {
			fmt.Fprintf(er.s.log, "finetune %s: warning: with patience %d, early stopping ends a probe at the first epoch without a lower validation loss, before the plateau schedule can cut the learning rate\n", er.e.Name, ft.Patience)
		} else if capped != p {
			fmt.Fprintf(er.s.log, "finetune %s: plateau patience %d capped at %d (finetune.patience %d - 2), so the learning-rate cut can fire before early stopping\n", er.e.Name, p, capped, ft.Patience)
			cfg["patience"] = capped
		}
	}
	return cfg, nil
}

// plateauPatience returns the plateau schedule patience fine-tuning uses
// with early-stopping patience stop (> 0), given the configured one, and
// whether a learning-rate cut can then take effect before training stops.
//
// A plateau schedule with patience p cuts the rate after p+1 validations
// without improvement (ReduceLROnPlateau), and the encoder learns of a
// validation loss at the first step of the next epoch; early stopping ends
// training after stop epochs without improvement. The cut takes effect
// only if an epoch follows it: p+1 < stop, so p is capped at stop-2. With
// equal patiences (both 5 by default) the cut would never fire.
func plateauPatience(p, stop int) (int, bool) {
	if stop < 2 {
		return p, false
	}
	return min(p, stop-2), true
}

// intValue reads an integer config value (decoded YAML or JSON gives int,
// int64 or a whole float64).
func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	}
	return 0, false
}

// configureHead gives the evaluator a fresh head for one probe: the
// recipe's evaluator config, the finetune lr and weight_decay where that
// config leaves them unset, and the head's task, shape and seed.
func (er *evalRun) configureHead(ctx context.Context, task string, in, out, seed int) error {
	ft := er.e.Finetune
	cfg := er.s.withRunDefaults(er.e.Evaluator.Plugin, er.e.Evaluator.Config, map[string]any{"lr": ft.LR, "weight_decay": ft.WeightDecay})
	cfg["task"], cfg["in"], cfg["out"], cfg["seed"] = task, in, out, seed
	if err := er.ev.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("evaluator: configure the head: %w", err)
	}
	return nil
}
