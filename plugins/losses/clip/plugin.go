package clip

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "clip"

// Version is the plugin's version.
const Version = "0.1.0"

func init() { lossplugin.Register[Config, spec]() }

// Plugin serves CLIP's symmetric loss with a learnable temperature as an
// sdk.Loss; Step updates the temperature.
type Plugin = lossplugin.Plugin[Config, spec]

// spec describes the plugin to lossplugin.
type spec struct{}

func (spec) Info() sdk.Info {
	return lossplugin.Info(PluginName, Version, "CLIP's symmetric InfoNCE with a learnable temperature", Schema)
}

func (spec) Defaults() Config { return DefaultConfig() }

func (spec) New(cfg Config) (lossplugin.Loss, error) {
	l, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return served{l}, nil
}

// served is the loss as the plugin serves it: its result without the
// temperature's gradient, which stays with the loss for Step (the metrics
// carry the logit scale).
type served struct{ *Loss }

func (l served) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	r, err := l.Loss.Compute(v, u)
	if err != nil {
		return sdk.LossResult{}, err
	}
	return r.LossResult, nil
}
