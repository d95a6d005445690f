package convirt

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
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
type Plugin = lossplugin.Plugin[Config, spec]

// spec describes the plugin to lossplugin.
type spec struct{}

func (spec) Info() sdk.Info {
	return lossplugin.Info(PluginName, Version, "ConVIRT's bidirectional InfoNCE loss", Schema)
}

func (spec) Defaults() Config { return DefaultConfig() }

func (spec) New(cfg Config) (lossplugin.Loss, error) {
	l, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return served{Loss: l}, nil
}

// served is the loss as the plugin serves it.
type served struct {
	*Loss
	lossplugin.Stateless
}

func (l served) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	r, err := l.Loss.Compute(v, u)
	if err != nil {
		return sdk.LossResult{}, err
	}
	return sdk.LossResult{Loss: r.Loss, GradV: r.GradV, GradU: r.GradU, Metrics: r.Metrics}, nil
}
