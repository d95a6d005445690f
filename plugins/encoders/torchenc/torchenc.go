// Package torchenc turns a gotch network into an sdk.Encoder: it owns the
// VarStore, the ConVIRT projection head, the optimiser and its schedule, the
// device and the mode, and runs every libtorch call on one OS thread (see
// plugins/models/torchrt for why). The image and text encoder plugins supply
// only the network that maps a batch to features.
package torchenc

import (
	"fmt"
	"runtime"

	"github.com/convirt/convirt/plugins/encoders/optim"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/heads"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Net maps a batch to features (N x FeatureDim) on device.
type Net interface {
	Features(b *sdk.Batch, train bool, dev gotch.Device) (*ts.Tensor, error)
	FeatureDim() int64
}

// Builder creates the network under p from the plugin's config.
type Builder func(vs *nn.VarStore, p *nn.Path) (Net, error)

// Common is the configuration every torch encoder shares.
type Common struct {
	Device     string `json:"device" doc:"cpu, cuda or cuda:N"`
	Seed       int64  `json:"seed" doc:"initialisation and dropout seed"`
	ProjDim    int64  `json:"proj_dim" min:"1" doc:"projection head output size (the paper: 512)"`
	ProjHidden int64  `json:"proj_hidden" min:"0" doc:"projection hidden size; 0 uses the feature size"`
	optim.Settings
	Schedule   string  `json:"schedule" enum:"none|plateau|cosine" doc:"learning-rate schedule"`
	Factor     float64 `json:"factor" min:"0" max:"1" doc:"plateau: lr factor"`
	Patience   int     `json:"patience" min:"0" doc:"plateau: validations without improvement"`
	Warmup     int     `json:"warmup_steps" min:"0" doc:"cosine: warm-up steps"`
	TotalSteps int     `json:"total_steps" min:"0" doc:"cosine: decay length"`
	Threads    int     `json:"threads" min:"0" doc:"libtorch intra-op threads; 0 keeps the default"`
	// Precision is the autocast dtype of training forwards (and, through
	// the graph they leave, their backwards); parameters, gradients and
	// optimiser state stay fp32, and the output is cast to fp32 before it
	// leaves the encoder, so the loss is computed in fp32.
	Precision     string `json:"precision" enum:"fp32|bf16|fp16" doc:"training precision: fp32, or autocast to bf16 (CPUs with AVX-512 BF16 or AMX, GPUs of compute capability 8.0+) or fp16 (CUDA only, with a dynamic loss scaler); weights, gradients, optimiser state and the output stay fp32 (docs/performance.md, Mixed precision)"`
	EvalPrecision string `json:"eval_precision" enum:"fp32|bf16|fp16" doc:"precision of forwards that do not train (validation, feature extraction for evaluation)"`
	// RestoreOptimizer makes SetState restore the optimiser and schedule
	// too (resuming training); without it SetState loads the weights only,
	// so the configured optimiser starts afresh (fine-tuning).
	RestoreOptimizer bool `json:"restore_optimizer" doc:"restoring a saved state restores the optimiser and schedule too (resume); false loads the weights only (fine-tuning from pretrained weights)"`
}

// Defaults are the paper's values (docs/paper.md, "Method").
func Defaults() Common {
	return Common{Device: "cpu", Precision: autocast.FP32, EvalPrecision: autocast.FP32, ProjDim: 512, Settings: optim.Settings{Optimizer: "adam", LR: 1e-4, WeightDecay: 1e-6}, Schedule: "plateau", Factor: 0.5, Patience: 5, RestoreOptimizer: true}
}

// Encoder is a configured torch encoder. Its methods are safe for
// concurrent use: calls are serialised onto one OS thread.
type Encoder struct {
	cfg   Common
	dev   gotch.Device
	vs    *nn.VarStore
	net   Net
	head  *heads.Projection
	opt   *optim.Optimizer
	sched *optim.Schedule
	out   []*ts.Tensor // outputs of Graph forwards awaiting Backward
	named []namedOut   // outputs of Graph ForwardNamed calls awaiting BackwardNamed
	steps int64
	// scaler is fp16's dynamic loss scale (nil for fp32 and bf16).
	scaler *autocast.Scaler
	// dp is the replicas' group of a data-parallel encoder (replicas.go);
	// nil for one that is not replicated.
	dp *dataParallel

	calls chan func()
	done  chan struct{}
}

// New builds an encoder: the network from build, the projection head, the
// optimiser and the schedule, initialised from cfg.Seed.
func New(cfg Common, build Builder) (*Encoder, error) {
	dev, err := ParseDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	// A precision the device cannot run is refused here, when the plugin
	// is configured, before any training step.
	if err := autocast.Check(cfg.Precision, dev); err != nil {
		return nil, err
	}
	if err := autocast.Check(cfg.EvalPrecision, dev); err != nil {
		return nil, fmt.Errorf("eval_precision: %w", err)
	}
	e := &Encoder{cfg: cfg, dev: dev, calls: make(chan func()), done: make(chan struct{})}
	if cfg.Precision == autocast.FP16 {
		e.scaler = autocast.NewScaler()
	}
	go e.loop()
	err = e.do(func() error {
		if _, err := torchrt.KeepFreedMemory(); err != nil {
			return err
		}
		if cfg.Threads > 0 {
			if err := torchrt.SetNumThreads(cfg.Threads); err != nil {
				return err
			}
		}
		torchrt.ManualSeed(cfg.Seed)
		e.vs = nn.NewVarStore(dev)
		root := e.vs.Root()
		if e.net, err = build(e.vs, root.Sub("net")); err != nil {
			return err
		}
		if e.head, err = heads.New(root.Sub("head"), heads.Config{In: e.net.FeatureDim(), Hidden: cfg.ProjHidden, Out: cfg.ProjDim}); err != nil {
			return fmt.Errorf("projection head: %w", err)
		}
		if e.opt, err = optim.New(e.vs, cfg.Config()); err != nil {
			return err
		}
		e.sched, err = optim.NewSchedule(optim.ScheduleConfig{Kind: cfg.Schedule, Factor: cfg.Factor, Patience: cfg.Patience, WarmupSteps: cfg.Warmup, TotalSteps: cfg.TotalSteps}, cfg.LR)
		return err
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Encoder) loop() {
	runtime.LockOSThread()
	defer close(e.done)
	if _, err := torchrt.SetGradEnabled(true); err != nil {
		_ = err // grad mode stays at libtorch's default (enabled)
	}
	for f := range e.calls {
		f()
	}
}

// do runs f on the encoder's OS thread, turning a panic of gotch's Must*
// functions into an error so it never crosses the plugin boundary.
func (e *Encoder) do(f func() error) (err error) {
	res := make(chan error, 1)
	e.calls <- func() {
		defer func() {
			if r := recover(); r != nil {
				res <- fmt.Errorf("libtorch: %v", r)
			}
		}()
		res <- f()
	}
	return <-res
}

// Close releases the encoder's thread; tensors go with the process.
func (e *Encoder) Close() error {
	select {
	case <-e.done:
	default:
		_ = e.do(func() error { e.closeReplicas(); return nil })
		close(e.calls)
		<-e.done
	}
	return nil
}

// TrainableParams is the number of scalars the optimiser updates (network
// and projection head, frozen layers excluded), as benchmarks report it.
func (e *Encoder) TrainableParams() int64 {
	var n int64
	_ = e.do(func() error {
		for _, v := range e.vs.TrainableVariables() {
			n += int64(v.Numel())
		}
		return nil
	})
	return n
}
