package convirt

import (
	"context"
	"errors"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "convirt"

// Version is the plugin's version.
const Version = "0.1.0"

func init() {
	builtin.RegisterLoss(PluginName, func() sdk.Loss { return &Plugin{} })
}

// Plugin serves the ConVIRT loss as an sdk.Loss. The loss has no
// parameters, so Step does nothing and its state is empty.
type Plugin struct{ loss *Loss }

// Info implements sdk.Plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: PluginName, Kind: sdk.KindLoss, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: "ConVIRT's bidirectional InfoNCE loss",
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

// Compute implements sdk.Loss.
func (p *Plugin) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	if p.loss == nil {
		return sdk.LossResult{}, errors.New("convirt loss: not configured")
	}
	r, err := p.loss.Compute(v, u)
	if err != nil {
		return sdk.LossResult{}, err
	}
	return sdk.LossResult{Loss: r.Loss, GradV: r.GradV, GradU: r.GradU, Metrics: r.Metrics}, nil
}

// Step implements sdk.Loss; ConVIRT's loss has nothing to update.
func (p *Plugin) Step(context.Context) error { return nil }

// State implements sdk.Stateful.
func (p *Plugin) State(context.Context) ([]byte, error) { return []byte{}, nil }

// SetState implements sdk.Stateful.
func (p *Plugin) SetState(context.Context, []byte) error { return nil }
