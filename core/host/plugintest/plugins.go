// Package plugintest holds small real plugins for tests of the plugin
// runtime, and the glue that lets a test binary act as those plugins: call
// Main first thing in TestMain, then start plugins with Spec, which re-runs
// the test binary as a plugin process.
package plugintest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func init() {
	builtin.RegisterEncoder("builtin-scale", func() sdk.Encoder { return &Scale{Name: "builtin-scale"} })
	builtin.RegisterLoss("builtin-dot", func() sdk.Loss { return &Dot{Name: "builtin-dot"} })
}

// Scale is an encoder with one parameter s: Forward returns s*images (same
// shape); Backward accumulates dL/ds = sum(grad*images); Step does s -= lr*g.
type Scale struct {
	Name        string // reported by Info; default "scale"
	Description string // reported by Info; default a sentence on what Scale does

	mu   sync.Mutex
	cfg  ScaleConfig
	s    float64
	g    float64
	last []float32
}

// ScaleConfig is Scale's config.
type ScaleConfig struct {
	Scale float64 `json:"scale"`
	LR    float64 `json:"lr"`
}

// Info implements sdk.Plugin.
func (e *Scale) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: cmp.Or(e.Name, "scale"), Version: "1.2.3", Description: cmp.Or(e.Description, "multiplies images by a learnable scalar"),
		Schema: schema.Schema{Fields: []schema.Field{
			{Name: "scale", Type: schema.Float, Doc: "initial scale", Default: 1.0},
			{Name: "lr", Type: schema.Float, Doc: "learning rate", Default: 0.1, Min: schema.Ptr(0)},
		}}}, nil
}

// Configure implements sdk.Plugin.
func (e *Scale) Configure(_ context.Context, cfg map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := ScaleConfig{Scale: 1, LR: 0.1}
	if err := sdk.DecodeConfig(cfg, &c); err != nil {
		return err
	}
	e.cfg, e.s = c, c.Scale
	return nil
}

// Forward implements sdk.Encoder.
func (e *Scale) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	if req.Batch == nil || req.Batch.Images == nil {
		return nil, errors.New("scale: batch has no images")
	}
	x, err := req.Batch.Images.Float32s()
	if err != nil {
		return nil, err
	}
	if len(req.Batch.Texts) > 0 && req.Batch.Texts[0] == "panic" {
		panic("scale plugin exploded on purpose")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(e.s) * v
	}
	if req.Graph {
		e.last = x
	}
	return tensor.FromFloat32(req.Batch.Images.Shape, y)
}

// Backward implements sdk.Encoder.
func (e *Scale) Backward(_ context.Context, grad *tensor.Tensor) error {
	g, err := grad.Float32s()
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(g) != len(e.last) {
		return fmt.Errorf("scale: gradient has %d values, last graph forward produced %d", len(g), len(e.last))
	}
	for i := range g {
		e.g += float64(g[i]) * float64(e.last[i])
	}
	return nil
}

// Step implements sdk.Encoder.
func (e *Scale) Step(context.Context, sdk.StepRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.s -= e.cfg.LR * e.g
	e.g = 0
	return nil
}

// LearningRate implements sdk.LearningRater: its lr, constant.
func (e *Scale) LearningRate() (float64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.LR, true
}

// State implements sdk.Stateful.
func (e *Scale) State(context.Context) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return json.Marshal(map[string]float64{"s": e.s, "g": e.g})
}

// SetState implements sdk.Stateful.
func (e *Scale) SetState(_ context.Context, b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("scale: state: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.s, e.g = m["s"], m["g"]
	return nil
}

// Close implements sdk.Plugin.
func (e *Scale) Close() error { return nil }

// Dot is a loss: L = sum(v*u), dL/dv = u, dL/du = v.
type Dot struct {
	Name string // reported by Info; default "dot"
}

// Info implements sdk.Plugin.
func (d Dot) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: cmp.Or(d.Name, "dot"), Version: "0.1.0"}, nil
}

// Configure implements sdk.Plugin.
func (Dot) Configure(context.Context, map[string]any) error { return nil }

// Compute implements sdk.Loss.
func (Dot) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	a, err := v.Float32s()
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("v: %w", err)
	}
	b, err := u.Float32s()
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("u: %w", err)
	}
	if len(a) != len(b) {
		return sdk.LossResult{}, fmt.Errorf("v has %d values, u has %d", len(a), len(b))
	}
	var l float64
	for i := range a {
		l += float64(a[i]) * float64(b[i])
	}
	return sdk.LossResult{Loss: l, GradV: u, GradU: v, Metrics: map[string]float64{"n": float64(len(a))}, Chance: math.Log(float64(len(a)))}, nil
}

// Step implements sdk.Loss.
func (Dot) Step(context.Context) error { return nil }

// State implements sdk.Stateful.
func (Dot) State(context.Context) ([]byte, error) { return []byte{}, nil }

// SetState implements sdk.Stateful.
func (Dot) SetState(context.Context, []byte) error { return nil }

// Close implements sdk.Plugin.
func (Dot) Close() error { return nil }
