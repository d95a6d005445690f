package evalplugin

import (
	"context"
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// LinearConfig is the config of the linear-probe evaluator.
type LinearConfig struct {
	// L2Grid, L2, MaxIter and History set the probe's regularisation and
	// L-BFGS training (linear.Config): the L2 strength is chosen per probe
	// from L2Grid on the validation loss, or is L2 (0: 1/n) without a
	// validation split.
	L2Grid  []float64 `json:"l2_grid" min:"0" doc:"candidate L2 strengths l2 (penalty l2/2*||w||^2 on each label's weights, added to its mean loss; the bias is not penalised), each > 0; each probe is fitted for every one, strongest first, and keeps the one with the lowest validation loss"`
	L2      float64   `json:"l2" min:"0" doc:"the L2 strength when there is no validation split (val_fraction 0 and no \"val\" split); 0: 1/n for n training examples, scikit-learn's LogisticRegression default C = 1"`
	MaxIter int       `json:"max_iter" min:"1" doc:"maximum L-BFGS iterations of each fit (a fit that reaches it is counted in the probe_unconverged metric)"`
	History int       `json:"history" min:"1" doc:"L-BFGS correction pairs"`
	// Standardize standardises features with the training subset's
	// statistics.
	Standardize bool `json:"standardize" doc:"standardise each feature with the training subset's mean and standard deviation"`
	// ValFraction is the stratified fraction of train held out to choose
	// the L2 strength on when the request has no "val" split (0: none),
	// drawn by whole groups (patients) when the split has them
	// (subset.Holdout), so that no patient is on both sides.
	ValFraction float64 `json:"val_fraction" min:"0" max:"0.5" doc:"stratified fraction of \"train\" held out to choose the L2 strength on when the request has no \"val\" split (0: none; l2 is used), drawn by whole patients when the split carries groups"`
	// ValSeed seeds the held-out validation rows (not the probe seeds, so
	// every probe sees the same validation set).
	ValSeed int64 `json:"val_seed" min:"0" doc:"seed of the held-out validation rows (independent of the probe seeds)"`
	BootConfig
}

// DefaultLinearConfig is the linear evaluator's config before Configure.
func DefaultLinearConfig() LinearConfig {
	return LinearConfig{L2Grid: append([]float64(nil), linear.DefaultL2Grid...), MaxIter: 1000, History: 10, Standardize: true, ValFraction: 0.1, BootConfig: defaultBoot()}
}

// Linear is the built-in "linear" evaluator: the paper's linear protocol,
// one L2-regularised logistic-regression probe per seed on a stratified
// labelled fraction of frozen training features, its L2 strength chosen on
// validation data from a log grid, each fit by L-BFGS to convergence.
type Linear struct{ frozen[LinearConfig] }

// linearSpec is what the linear evaluator's shell serves.
var linearSpec = frozenSpec[LinearConfig]{
	name: LinearName, protocol: sdk.ProtocolLinear, params: []string{"task", "fraction", "seeds"},
	description: `linear probing of frozen features (protocol "linear"): stratified label fractions, one L2-regularised logistic-regression probe per seed (strength chosen on validation data, L-BFGS to convergence), AUC or accuracy with seed and test-bootstrap intervals`,
	defaults:    DefaultLinearConfig,
	check:       checkLinearConfig,
	run:         evaluateLinear,
}

// NewLinear returns the evaluator with the default config.
func NewLinear() *Linear { return &Linear{newFrozen(&linearSpec)} }

// checkLinearConfig states the rules the tags cannot: a non-empty grid of
// strengths > 0.
func checkLinearConfig(cfg LinearConfig) error {
	if len(cfg.L2Grid) == 0 {
		return fmt.Errorf("config: l2_grid must list at least one strength")
	}
	for i, l := range cfg.L2Grid {
		if !(l > 0) || math.IsInf(l, 0) {
			return fmt.Errorf("config: l2_grid[%d] must be finite and > 0, got %v", i, l)
		}
	}
	return nil
}

// linearJob is a checked linear request.
type linearJob struct {
	task            linear.Task
	fraction        float64
	seeds           []int64
	pool, val, test *split
}

// evaluateLinear checks the request (its protocol and param names checked
// by the shell) and runs the probes.
func evaluateLinear(ctx context.Context, req sdk.EvalRequest, cfg LinearConfig) (sdk.EvalResult, error) {
	job, err := prepareLinear(req, cfg)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	return runLinear(ctx, job, cfg)
}

// prepareLinear checks the request and holds out the validation rows:
// val_fraction of train by whole groups (patients) when the request has
// no "val" split.
func prepareLinear(req sdk.EvalRequest, cfg LinearConfig) (*linearJob, error) {
	ps := params{req.Params}
	job := &linearJob{}
	var err error
	if job.task, err = ps.task(); err != nil {
		return nil, err
	}
	if job.fraction, err = ps.fraction(); err != nil {
		return nil, err
	}
	if job.seeds, err = ps.ints("seeds", nil, 0, 1<<53); err != nil {
		return nil, err
	}
	train, err := getSplit(req, sdk.SplitTrain)
	if err != nil {
		return nil, err
	}
	if job.test, err = getSplit(req, sdk.SplitTest); err != nil {
		return nil, err
	}
	checked := []*split{train, job.test}
	if fs, ok := req.Splits[sdk.SplitVal]; ok && fs != nil {
		if job.val, err = getSplit(req, sdk.SplitVal); err != nil {
			return nil, err
		}
		checked = append(checked, job.val)
	}
	for _, s := range checked {
		if err := s.checkTask(job.task); err != nil {
			return nil, err
		}
		if err := sameLabels(train, s, true); err != nil {
			return nil, err
		}
	}
	job.pool = train
	if job.val == nil && cfg.ValFraction > 0 {
		// Whole patients (the train split's groups; each row its own
		// group when it has none, which is the label-stratified draw).
		valIdx, err := subset.Holdout(train.labelRows(), train.groups, cfg.ValFraction, cfg.ValSeed)
		if err != nil {
			return nil, fmt.Errorf("holding out validation rows: %w", err)
		}
		in := make([]bool, train.rows)
		for _, i := range valIdx {
			in[i] = true
		}
		var rest []int
		for i := 0; i < train.rows; i++ {
			if !in[i] {
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			return nil, fmt.Errorf("split %q: holding out val_fraction %v for validation leaves no training rows (%d rows)", sdk.SplitTrain, cfg.ValFraction, train.rows)
		}
		job.val, job.pool = train.take("val (held out of train)", valIdx), train.take(sdk.SplitTrain, rest)
	}
	return job, nil
}

// runLinear trains and scores one probe per seed. Besides the split sizes,
// Metrics report each probe's L2 strength (sdk.ProbeL2Key), whether it
// was chosen on validation data (sdk.ProbeSelectedKey) and how many
// probes stopped at max_iter (sdk.ProbeUnconvergedKey).
func runLinear(ctx context.Context, job *linearJob, cfg LinearConfig) (sdk.EvalResult, error) {
	lcfg := linear.Config{Task: job.task, L2Grid: cfg.L2Grid, L2: cfg.L2, MaxIter: cfg.MaxIter,
		History: cfg.History, NoStandardize: !cfg.Standardize}
	if job.task == linear.MultiClass {
		lcfg.NumClasses = job.test.k
	}
	var val linear.Split
	if job.val != nil {
		val = job.val.linearSplit(job.task)
	}
	seeds := make([]uint64, len(job.seeds))
	names := make([]string, len(job.seeds))
	for i, s := range job.seeds {
		seeds[i], names[i] = uint64(s), fmt.Sprintf("seed-%d", s)
	}
	poolLabels := job.pool.labelRows()
	var subsetRows int
	draw := func(seed uint64) (linear.Split, error) {
		idx, err := subset.Stratified(poolLabels, job.fraction, int64(seed))
		if err != nil {
			return linear.Split{}, err
		}
		subsetRows += len(idx)
		return job.pool.take(sdk.SplitTrain, idx).linearSplit(job.task), nil
	}
	test := job.test.linearSplit(job.task)
	test.Names = job.test.names
	probes, preds, err := linear.TrainSeeds(ctx, seeds, draw, val, test, lcfg)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res, err := labelResult(ctx, job.task, seeds, names, preds, job.test, cfg.metricsConfig())
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res.Metrics["train_examples"] = float64(job.pool.rows)
	res.Metrics["subset_examples"] = float64(subsetRows) / float64(len(seeds))
	res.Metrics[sdk.ValExamplesKey] = 0
	if job.val != nil {
		res.Metrics[sdk.ValExamplesKey] = float64(job.val.rows)
	}
	res.Metrics["test_examples"] = float64(job.test.rows)
	unconverged := 0
	for i, p := range probes {
		res.Metrics[sdk.ProbeL2Key(seeds[i])] = p.L2
		if !p.Converged {
			unconverged++
		}
	}
	res.Metrics[sdk.ProbeSelectedKey] = 0
	if probes[0].Selected {
		res.Metrics[sdk.ProbeSelectedKey] = 1
	}
	res.Metrics[sdk.ProbeUnconvergedKey] = float64(unconverged)
	return res, nil
}
