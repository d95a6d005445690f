package evalplugin

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/convirt/convirt/plugins/evaluators/finetune"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// FinetuneConfig is the config of the fine-tuning evaluator.
type FinetuneConfig struct {
	// LR and WeightDecay set the head's Adam optimiser.
	LR          float64 `json:"lr" min:"0" doc:"the head's Adam learning rate (the host fills in evaluate[].finetune.lr when unset)"`
	WeightDecay float64 `json:"weight_decay" min:"0" doc:"L2 weight decay on the head's weights, added to the gradient (the host fills in evaluate[].finetune.weight_decay when unset)"`
	// Task, In, Out and Seed shape and seed the head; the host sets them
	// for each probe (the task of the dataset, the encoder's feature
	// dimension, the number of labels, the probe's seed). Without Task the
	// evaluator has no head and only scores.
	Task string `json:"task" doc:"set by the host: binary, multilabel or multiclass; empty: no head (scoring only)"`
	In   int    `json:"in" min:"0" doc:"set by the host: the encoder's feature dimension"`
	Out  int    `json:"out" min:"0" doc:"set by the host: the number of labels or classes"`
	Seed uint64 `json:"seed" min:"0" doc:"set by the host: the probe's seed, which initialises the head"`
	BootConfig
}

// DefaultFinetuneConfig is the fine-tuning evaluator's config before
// Configure: no head, the paper's Adam settings.
func DefaultFinetuneConfig() FinetuneConfig {
	return FinetuneConfig{LR: 1e-4, WeightDecay: 1e-6, BootConfig: defaultBoot()}
}

// Finetune is the built-in "finetune" evaluator: the classification head
// of the paper's fine-tuning protocol. During training it plays the loss
// (Grad returns the gradient with respect to the encoder's features and
// steps the head); afterwards it predicts and scores like "linear".
type Finetune struct {
	mu       sync.Mutex
	cfg      FinetuneConfig
	head     *finetune.Head
	snapshot []byte
}

// NewFinetune returns the evaluator with the default config and no head.
func NewFinetune() *Finetune { return &Finetune{cfg: DefaultFinetuneConfig()} }

// Info implements sdk.Plugin.
func (p *Finetune) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: FinetuneName, Kind: sdk.KindEvaluator, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: `fine-tuning head (protocol finetune): a linear classifier trained with the whole image encoder through Grad; protocols "predict" and "score" (AUC or accuracy over seeds with bootstrap intervals)`,
		Schema:      schema.MustDerive(DefaultFinetuneConfig())}, nil
}

// Configure implements sdk.Plugin. Every call discards the head and, when
// the config names a task, builds a fresh one seeded by seed.
func (p *Finetune) Configure(_ context.Context, raw map[string]any) error {
	cfg := DefaultFinetuneConfig()
	if err := decodeConfig(FinetuneName, raw, &cfg); err != nil {
		return err
	}
	var head *finetune.Head
	if cfg.Task != "" {
		hc := finetune.DefaultConfig(linear.Task(cfg.Task), cfg.In, cfg.Out)
		hc.LR, hc.WeightDecay, hc.Seed = cfg.LR, cfg.WeightDecay, cfg.Seed
		var err error
		if head, err = finetune.New(hc); err != nil {
			return fmt.Errorf("evaluator %q: config: %w", FinetuneName, err)
		}
	}
	p.mu.Lock()
	p.cfg, p.head, p.snapshot = cfg, head, nil
	p.mu.Unlock()
	return nil
}

// Close implements sdk.Plugin.
func (p *Finetune) Close() error { return nil }

// current returns the config and head.
func (p *Finetune) current() (FinetuneConfig, *finetune.Head) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg, p.head
}

// errNoHead is the answer of head operations before a task is configured.
var errNoHead = fmt.Errorf(`no head: configure "task", "in" and "out" first (the host sets them for each probe)`)

// Grad implements sdk.Evaluator: the head's mean loss on the batch and its
// gradient with respect to features; the head then takes its own Adam
// step, so head and encoder train together. A batch whose labels are all
// unknown (NaN) gives a zero loss and gradient and no step.
func (p *Finetune) Grad(_ context.Context, features, labels *tensor.Tensor) (loss float64, grad *tensor.Tensor, err error) {
	err = guard(FinetuneName, func() error {
		_, head := p.current()
		if head == nil {
			return errNoHead
		}
		n, tg, known, err := targetsOf(head.Config(), features, labels)
		if err != nil {
			return err
		}
		if known == 0 {
			dt := features.DType
			if dt != tensor.Float64 {
				dt = tensor.Float32
			}
			grad, err = tensor.FromFloat64s(dt, []int64{int64(n), int64(head.Config().In)}, make([]float64, n*head.Config().In))
			return err
		}
		res, err := head.Compute(features, tg)
		if err != nil {
			return err
		}
		if err := head.Step(); err != nil {
			return err
		}
		loss, grad = res.Loss, res.GradFeatures
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("evaluator %q: Grad: %w", FinetuneName, err)
	}
	return loss, grad, nil
}

// targetsOf checks labels (N,K) against features (N,In) and the head, and
// converts them: 0/1/NaN rows for binary and multi-label heads, the class
// of one-hot rows for multi-class ones. known counts the known labels.
func targetsOf(hc finetune.Config, features, labels *tensor.Tensor) (n int, tg finetune.Targets, known int, err error) {
	if features == nil || len(features.Shape) != 2 || int(features.Shape[1]) != hc.In {
		shape := "none"
		if features != nil {
			shape = fmt.Sprint(features.Shape)
		}
		return 0, tg, 0, fmt.Errorf("features have shape %s, want [N %d] (the head's input)", shape, hc.In)
	}
	n = int(features.Shape[0])
	y, shape, err := floats(labels)
	if err != nil {
		return 0, tg, 0, fmt.Errorf("labels: %w", err)
	}
	if int(shape[0]) != n || int(shape[1]) != hc.Out {
		return 0, tg, 0, fmt.Errorf("labels have shape %v, want [%d %d] (one row per feature row, one column per head output)", shape, n, hc.Out)
	}
	k := hc.Out
	for i := 0; i < n; i++ {
		row := y[i*k : (i+1)*k]
		if hc.Task == linear.MultiClass {
			c, ones := -1, 0
			for j, v := range row {
				switch v {
				case 1:
					c, ones = j, ones+1
				case 0:
				default:
					return 0, tg, 0, fmt.Errorf("labels: row %d column %d is %v, want one-hot rows of 0 and 1", i, j, v)
				}
			}
			if ones != 1 {
				return 0, tg, 0, fmt.Errorf("labels: row %d has %d labels set, want one-hot rows", i, ones)
			}
			tg.Class = append(tg.Class, c)
			known++
			continue
		}
		r := make([]float64, k)
		for j, v := range row {
			if v != 0 && v != 1 && !math.IsNaN(float64(v)) {
				return 0, tg, 0, fmt.Errorf("labels: row %d column %d is %v, want 0, 1 or NaN", i, j, v)
			}
			r[j] = float64(v)
			if !math.IsNaN(float64(v)) {
				known++
			}
		}
		tg.Y = append(tg.Y, r)
	}
	return n, tg, known, nil
}

// Evaluate implements sdk.Evaluator for protocols "predict", "score",
// "snapshot" and "restore".
func (p *Finetune) Evaluate(ctx context.Context, req sdk.EvalRequest) (res sdk.EvalResult, err error) {
	err = guard(FinetuneName, func() error {
		switch req.Protocol {
		case sdk.ProtocolPredict:
			res, err = p.predict(req)
		case sdk.ProtocolScore:
			cfg, _ := p.current()
			res, err = scoreProbes(ctx, req, cfg.BootConfig)
		case sdk.ProtocolSnapshot, sdk.ProtocolRestore:
			err = p.keep(req)
		default:
			err = fmt.Errorf("protocol %q is not implemented: this evaluator implements protocols %q, %q, %q and %q",
				req.Protocol, sdk.ProtocolPredict, sdk.ProtocolScore, sdk.ProtocolSnapshot, sdk.ProtocolRestore)
		}
		return err
	})
	if err != nil {
		return sdk.EvalResult{}, fmt.Errorf("evaluator %q: %w", FinetuneName, err)
	}
	return res, nil
}

// keep runs "snapshot" (copy the head) or "restore" (make the copy the head
// again); neither takes splits or params.
func (p *Finetune) keep(req sdk.EvalRequest) error {
	if len(req.Splits) > 0 || len(req.Params) > 0 {
		return fmt.Errorf("protocol %q takes no splits and no params", req.Protocol)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == nil {
		return errNoHead
	}
	if req.Protocol == sdk.ProtocolSnapshot {
		st, err := p.head.State()
		if err != nil {
			return err
		}
		p.snapshot = st
		return nil
	}
	if p.snapshot == nil {
		return fmt.Errorf(`protocol %q: no snapshot was taken since Configure`, sdk.ProtocolRestore)
	}
	return p.head.SetState(p.snapshot)
}
