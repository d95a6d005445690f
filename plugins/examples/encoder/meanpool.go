package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Name is the plugin's name: recipes refer to it, and Info must report it.
const Name = "example-meanpool"

// Version is the plugin's version. Bump it when its behaviour or its state
// format changes: runs record it, and indexes publish plugins by it.
const Version = "0.1.0"

// stateFormat tags the bytes State returns, so SetState can refuse others.
const stateFormat = "example-meanpool/state/v1"

// Config is the plugin's config. Keys named like the run's settings (seed,
// lr, weight_decay) are filled from the recipe's seed and train section
// unless the recipe sets them here.
type Config struct {
	Grid        int     `json:"grid" min:"1" max:"64" doc:"images are mean-pooled to grid x grid cells"`
	Features    int     `json:"features" min:"1" doc:"width of the ReLU layer: the features probes see"`
	ProjDim     int     `json:"proj_dim" min:"1" doc:"width of the projection; must equal the text encoder's"`
	LR          float64 `json:"lr" min:"0" doc:"SGD learning rate (default: train.lr)"`
	WeightDecay float64 `json:"weight_decay" min:"0" doc:"L2 penalty on the weights (default: train.weight_decay)"`
	Seed        int     `json:"seed" min:"0" doc:"seed of the initial weights (default: the recipe's seed)"`
}

// defaults is the config before the recipe's keys are applied.
var defaults = Config{Grid: 8, Features: 128, ProjDim: 512, LR: 0.01, Seed: 0}

// configSchema describes Config to the host, which checks recipes against it
// before starting anything and shows it in `convirt plugins describe`. It is
// derived from Config's tags (key, type, doc, range) with defaults' values,
// so the struct is the one place a key is written.
var configSchema = schema.MustDerive(defaults)

// Encoder is the example-meanpool sdk.Encoder. The zero value is ready for
// Configure; the host calls it from one goroutine per request, so a mutex
// guards it.
type Encoder struct {
	mu    sync.Mutex
	cfg   Config
	m     *model
	g     grads
	steps int

	graph     *activations // the last Graph forward, for Backward
	projected bool         // whether that forward returned the projection
}

// Info implements sdk.Plugin.
func (e *Encoder) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: Version,
		Description: "example external image encoder: grid mean-pooling, a ReLU layer and a linear projection, trained by SGD (pure Go)",
		Schema:      configSchema}, nil
}

// Configure implements sdk.Plugin: it builds freshly initialised weights.
func (e *Encoder) Configure(_ context.Context, raw map[string]any) error {
	cfg := defaults
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	if err := schema.Validate(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	e.m = newModel(cfg.Grid, cfg.Features, cfg.ProjDim, uint64(cfg.Seed))
	e.g = e.m.zeroGrads()
	e.steps, e.graph = 0, nil
	return nil
}

// Forward implements sdk.Encoder. Output selects the features or the
// projection; Graph keeps the activations for the next Backward. Train
// changes nothing: the model has no dropout or batch statistics.
func (e *Encoder) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	var projected bool
	switch req.Output {
	case "", sdk.OutputProjection:
		projected = true
	case sdk.OutputFeatures:
	default:
		return nil, fmt.Errorf("unknown output %q (want %q or %q)", req.Output, sdk.OutputProjection, sdk.OutputFeatures)
	}
	if req.Batch == nil {
		return nil, errors.New("forward: no batch")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		return nil, errors.New("forward before Configure")
	}
	x, n, err := pool(req.Batch.Images, e.cfg.Grid)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	a := e.m.forward(x, n)
	if req.Graph {
		e.graph, e.projected = &a, projected
	}
	if projected {
		return tensor.FromFloat32([]int64{int64(n), int64(e.m.Out)}, a.Z)
	}
	return tensor.FromFloat32([]int64{int64(n), int64(e.m.Hidden)}, a.H)
}

// Backward implements sdk.Encoder: grad is the loss's gradient with respect
// to the output of the last Graph forward; the parameter gradients add up
// until Step, so several forward/backward pairs may precede one Step.
func (e *Encoder) Backward(_ context.Context, grad *tensor.Tensor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.graph == nil {
		return errors.New("backward without a forward that kept its graph (ForwardRequest.Graph)")
	}
	a, projected := *e.graph, e.projected
	e.graph = nil
	width := e.m.Hidden
	if projected {
		width = e.m.Out
	}
	if grad == nil || len(grad.Shape) != 2 || int(grad.Shape[0]) != a.N || int(grad.Shape[1]) != width {
		var shape []int64
		if grad != nil {
			shape = grad.Shape
		}
		return fmt.Errorf("backward: gradient of shape %v for an output of shape [%d %d]", shape, a.N, width)
	}
	d, err := grad.Float32s()
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	e.m.backward(a, d, projected, &e.g)
	return nil
}

// Step implements sdk.Encoder: one SGD step, then zero gradients. The
// validation loss in req would drive a plateau schedule; this plugin has a
// constant learning rate, so it ignores it.
func (e *Encoder) Step(context.Context, sdk.StepRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		return errors.New("step before Configure")
	}
	e.m.sgd(&e.g, e.cfg.LR, e.cfg.WeightDecay)
	e.steps++
	return nil
}

// savedState is the plugin's full state as State writes it. Gradients are
// not part of it: the host saves state between steps, when they are zero.
type savedState struct {
	Format string `json:"format"`
	Steps  int    `json:"steps"`
	Model  *model `json:"model"`
}

// State implements sdk.Stateful.
func (e *Encoder) State(context.Context) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		return nil, errors.New("state before Configure")
	}
	return json.Marshal(savedState{Format: stateFormat, Steps: e.steps, Model: e.m})
}

// SetState implements sdk.Stateful. The state must come from a plugin
// configured with the same grid, features and proj_dim.
func (e *Encoder) SetState(_ context.Context, b []byte) error {
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("set state: not an %s state: %w", Name, err)
	}
	if s.Format != stateFormat || s.Model == nil {
		return fmt.Errorf("set state: format %q, want %q", s.Format, stateFormat)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		return errors.New("set state before Configure")
	}
	m := s.Model
	if m.Grid != e.cfg.Grid || m.Hidden != e.cfg.Features || m.Out != e.cfg.ProjDim {
		return fmt.Errorf("set state: the state is of grid %d, features %d, proj_dim %d; the config says %d, %d, %d",
			m.Grid, m.Hidden, m.Out, e.cfg.Grid, e.cfg.Features, e.cfg.ProjDim)
	}
	if m.In != m.Grid*m.Grid || len(m.W1) != m.Hidden*m.In || len(m.B1) != m.Hidden || len(m.W2) != m.Out*m.Hidden || len(m.B2) != m.Out {
		return errors.New("set state: parameter sizes do not match the recorded shapes")
	}
	e.m, e.g, e.steps, e.graph = m, m.zeroGrads(), s.Steps, nil
	return nil
}

// Close implements sdk.Plugin; there is nothing to release.
func (e *Encoder) Close() error { return nil }
