package gloria

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "gloria"

// Version is the plugin's version.
const Version = "0.1.0"

func init() { lossplugin.Register[Config, spec]() }

// Plugin serves the GLoRIA loss as an sdk.Loss and sdk.LocalLoss.
type Plugin = lossplugin.Plugin[Config, spec]

// spec describes the plugin to lossplugin.
type spec struct{}

func (spec) Info() sdk.Info {
	info := lossplugin.Info(PluginName, Version, "GLoRIA's global and local (word-region attention) contrastive losses", Schema)
	info.Needs = DefaultConfig().Needs()
	return info
}

func (spec) Defaults() Config { return DefaultConfig() }

func (spec) New(cfg Config) (lossplugin.Loss, error) {
	return lossplugin.Built(New(cfg))
}

// Needs is what the configured loss consumes (its image_output).
func (l *Loss) Needs() *sdk.LossNeeds { return l.cfg.Needs() }

var _ lossplugin.LocalLoss = (*Loss)(nil)
