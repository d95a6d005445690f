package evalplugin

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/convirt/convirt/core/schema"
	"github.com/convirt/convirt/core/tensor"
	"github.com/convirt/convirt/plugins/datasets/subset"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
)

// LinearName is the name of the built-in linear-probe evaluator.
const LinearName = "linear"

func init() {
	builtin.RegisterEvaluator(LinearName, func() sdk.Evaluator { return NewLinear() })
}

// LinearConfig is the config of the linear-probe evaluator.
type LinearConfig struct {
	// WeightDecay, MaxIter, Patience and History set the probe's L-BFGS
	// training (linear.Config).
	WeightDecay float64 `json:"weight_decay"`
	MaxIter     int     `json:"max_iter"`
	Patience    int     `json:"patience"`
	History     int     `json:"history"`
	// Standardize standardises features with the training subset's
	// statistics.
	Standardize bool `json:"standardize"`
	// ValFraction is the stratified fraction of train held out for early
	// stopping when the request has no "val" split (0: none).
	ValFraction float64 `json:"val_fraction"`
	// ValSeed seeds the held-out validation rows (not the probe seeds, so
	// every probe sees the same validation set).
	ValSeed int64 `json:"val_seed"`
	BootConfig
}

// DefaultLinearConfig is the linear evaluator's config before Configure.
func DefaultLinearConfig() LinearConfig {
	return LinearConfig{MaxIter: 500, Patience: 20, History: 10, Standardize: true, ValFraction: 0.1, BootConfig: defaultBoot()}
}

// Linear is the built-in "linear" evaluator: the paper's linear protocol,
// one L-BFGS logistic-regression probe per seed on a stratified labelled
// fraction of frozen training features.
type Linear struct {
	mu  sync.Mutex
	cfg LinearConfig
}

// NewLinear returns the evaluator with the default config.
func NewLinear() *Linear { return &Linear{cfg: DefaultLinearConfig()} }

// Info implements sdk.Plugin.
func (p *Linear) Info(context.Context) (sdk.Info, error) {
	d := DefaultLinearConfig()
	return sdk.Info{Name: LinearName, Kind: sdk.KindEvaluator, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: `linear probing of frozen features (protocol "linear"): stratified label fractions, one L-BFGS probe per seed, AUC or accuracy with bootstrap intervals`,
		Schema: schema.Schema{Fields: append([]schema.Field{
			{Name: "weight_decay", Type: schema.Float, Default: d.WeightDecay, Min: schema.Ptr(0), Doc: "L2 penalty weight_decay/2*||W||^2 on the probe's weights (not the bias)"},
			{Name: "max_iter", Type: schema.Int, Default: d.MaxIter, Min: schema.Ptr(1), Doc: "maximum L-BFGS iterations per probe"},
			{Name: "patience", Type: schema.Int, Default: d.Patience, Min: schema.Ptr(1), Doc: "stop after this many iterations without a lower validation loss, keeping the best weights"},
			{Name: "history", Type: schema.Int, Default: d.History, Min: schema.Ptr(1), Doc: "L-BFGS correction pairs"},
			{Name: "standardize", Type: schema.Bool, Default: d.Standardize, Doc: "standardise each feature with the training subset's mean and standard deviation"},
			{Name: "val_fraction", Type: schema.Float, Default: d.ValFraction, Min: schema.Ptr(0), Max: schema.Ptr(0.5), Doc: `stratified fraction of "train" held out for early stopping when the request has no "val" split (0: no early stopping)`},
			{Name: "val_seed", Type: schema.Int, Default: d.ValSeed, Min: schema.Ptr(0), Doc: "seed of the held-out validation rows (independent of the probe seeds)"},
		}, bootFields()...)}}, nil
}

// Configure implements sdk.Plugin.
func (p *Linear) Configure(_ context.Context, raw map[string]any) error {
	cfg := DefaultLinearConfig()
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return fmt.Errorf("evaluator %q: %w", LinearName, err)
	}
	switch {
	case !(cfg.WeightDecay >= 0) || math.IsInf(cfg.WeightDecay, 0):
		return fmt.Errorf("evaluator %q: config: weight_decay must be finite and >= 0, got %v", LinearName, cfg.WeightDecay)
	case cfg.MaxIter < 1 || cfg.Patience < 1 || cfg.History < 1:
		return fmt.Errorf("evaluator %q: config: max_iter, patience and history must be >= 1 (got %d, %d, %d)", LinearName, cfg.MaxIter, cfg.Patience, cfg.History)
	case !(cfg.ValFraction >= 0 && cfg.ValFraction <= 0.5):
		return fmt.Errorf("evaluator %q: config: val_fraction must be in [0, 0.5], got %v", LinearName, cfg.ValFraction)
	case cfg.ValSeed < 0:
		return fmt.Errorf("evaluator %q: config: val_seed must be >= 0, got %d", LinearName, cfg.ValSeed)
	}
	if err := cfg.check(); err != nil {
		return fmt.Errorf("evaluator %q: %w", LinearName, err)
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	return nil
}

// Close implements sdk.Plugin.
func (p *Linear) Close() error { return nil }

// Grad implements sdk.Evaluator; linear probing does not fine-tune.
func (p *Linear) Grad(context.Context, *tensor.Tensor, *tensor.Tensor) (float64, *tensor.Tensor, error) {
	return 0, nil, fmt.Errorf("evaluator %q: %w", LinearName, errGrad(ProtocolLinear))
}

// linearJob is a checked linear request.
type linearJob struct {
	task            linear.Task
	fraction        float64
	seeds           []int64
	pool, val, test *split
}

// Evaluate implements sdk.Evaluator for protocol "linear".
func (p *Linear) Evaluate(ctx context.Context, req sdk.EvalRequest) (res sdk.EvalResult, err error) {
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	err = guard(LinearName, func() error {
		job, err := prepareLinear(req, cfg)
		if err != nil {
			return err
		}
		res, err = runLinear(ctx, job, cfg)
		return err
	})
	if err != nil {
		return sdk.EvalResult{}, fmt.Errorf("evaluator %q: %w", LinearName, err)
	}
	return res, nil
}

// prepareLinear checks the request and holds out the validation rows.
func prepareLinear(req sdk.EvalRequest, cfg LinearConfig) (*linearJob, error) {
	if err := checkProtocol(req.Protocol, ProtocolLinear); err != nil {
		return nil, err
	}
	ps := params{req.Params}
	if err := ps.checkKeys("task", "fraction", "seeds"); err != nil {
		return nil, err
	}
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
	train, err := getSplit(req, SplitTrain)
	if err != nil {
		return nil, err
	}
	if job.test, err = getSplit(req, SplitTest); err != nil {
		return nil, err
	}
	checked := []*split{train, job.test}
	if fs, ok := req.Splits[SplitVal]; ok && fs != nil {
		if job.val, err = getSplit(req, SplitVal); err != nil {
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
		valIdx, err := subset.Stratified(train.labelRows(), cfg.ValFraction, cfg.ValSeed)
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
			return nil, fmt.Errorf("split %q: holding out val_fraction %v for validation leaves no training rows (%d rows)", SplitTrain, cfg.ValFraction, train.rows)
		}
		job.val, job.pool = train.take("val (held out of train)", valIdx), train.take(SplitTrain, rest)
	}
	return job, nil
}

// runLinear trains and scores one probe per seed.
func runLinear(ctx context.Context, job *linearJob, cfg LinearConfig) (sdk.EvalResult, error) {
	lcfg := linear.Config{Task: job.task, WeightDecay: cfg.WeightDecay, MaxIter: cfg.MaxIter,
		Patience: cfg.Patience, History: cfg.History, NoStandardize: !cfg.Standardize}
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
		return job.pool.take(SplitTrain, idx).linearSplit(job.task), nil
	}
	preds, err := linear.TrainSeeds(ctx, seeds, draw, val, job.test.linearSplit(job.task), lcfg)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res, err := labelResult(ctx, job.task, seeds, names, preds, job.test, cfg.metricsConfig())
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res.Metrics["train_examples"] = float64(job.pool.rows)
	res.Metrics["subset_examples"] = float64(subsetRows) / float64(len(seeds))
	res.Metrics["val_examples"] = 0
	if job.val != nil {
		res.Metrics["val_examples"] = float64(job.val.rows)
	}
	res.Metrics["test_examples"] = float64(job.test.rows)
	return res, nil
}
