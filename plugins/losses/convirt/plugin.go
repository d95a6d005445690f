package convirt

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "convirt"

// Version is the plugin's version.
const Version = "0.1.0"

func init() { lossplugin.Register[Config, spec]() }

// Plugin serves the ConVIRT loss as an sdk.Loss.
type Plugin = lossplugin.Plugin[Config, spec]

// spec describes the plugin to lossplugin.
type spec struct{}

func (spec) Info() sdk.Info {
	return lossplugin.Info(PluginName, Version, "ConVIRT's bidirectional InfoNCE loss", Schema)
}

func (spec) Defaults() Config { return DefaultConfig() }

func (spec) New(cfg Config) (lossplugin.Loss, error) {
	return lossplugin.Built(New(cfg))
}
