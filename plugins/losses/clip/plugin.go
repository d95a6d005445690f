package clip

import (
	"context"
	"errors"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "clip"

// Version is the plugin's version.
const Version = "0.1.0"

func init() {
	builtin.RegisterLoss(PluginName, func() sdk.Loss { return &Plugin{} })
}

// Plugin serves CLIP's symmetric loss with a learnable temperature as an
// sdk.Loss.
type Plugin struct{ loss *Loss }

// Info implements sdk.Plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: PluginName, Kind: sdk.KindLoss, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: "CLIP's symmetric InfoNCE with a learnable temperature",
		Schema:      Schema}, nil
}

// Configure implements sdk.Plugin.
func (p *Plugin) Configure(_ context.Context, raw map[string]any) error {
	cfg := DefaultConfig()
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	l, err := New(cfg)
	if err != nil {
		return err
	}
	p.loss = l
	return nil
}

// Close implements sdk.Plugin.
func (p *Plugin) Close() error { return nil }

var errNotConfigured = errors.New("clip loss: not configured")

// Compute implements sdk.Loss.
func (p *Plugin) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	if p.loss == nil {
		return sdk.LossResult{}, errNotConfigured
	}
	r, err := p.loss.Compute(v, u)
	if err != nil {
		return sdk.LossResult{}, err
	}
	m := map[string]float64{"logit_scale": p.loss.LogScale()}
	for k, x := range r.Metrics {
		m[k] = x
	}
	return sdk.LossResult{Loss: r.Loss, GradV: r.GradV, GradU: r.GradU, Metrics: m}, nil
}

// Step implements sdk.Loss: it updates the temperature.
func (p *Plugin) Step(context.Context) error {
	if p.loss == nil {
		return errNotConfigured
	}
	return p.loss.Step()
}

// State implements sdk.Stateful.
func (p *Plugin) State(context.Context) ([]byte, error) {
	if p.loss == nil {
		return nil, errNotConfigured
	}
	return p.loss.State()
}

// SetState implements sdk.Stateful.
func (p *Plugin) SetState(_ context.Context, b []byte) error {
	if p.loss == nil {
		return errNotConfigured
	}
	return p.loss.SetState(b)
}
