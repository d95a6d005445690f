package contrastivebinary

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
)

// PluginName is the name the built-in loss plugin is registered under.
const PluginName = "contrastive-binary"

// Version is the plugin's version.
const Version = "0.1.0"

func init() { lossplugin.Register[Config, spec]() }

// Plugin serves the Contrastive-Binary loss as an sdk.Loss.
type Plugin = lossplugin.Plugin[Config, spec]

// spec describes the plugin to lossplugin.
type spec struct{}

func (spec) Info() sdk.Info {
	return lossplugin.Info(PluginName, Version, "the ConVIRT paper's Contrastive-Binary baseline: binary cross-entropy over the batch's matched and mismatched pairs", Schema)
}

func (spec) Defaults() Config { return DefaultConfig() }

func (spec) New(cfg Config) (lossplugin.Loss, error) {
	return lossplugin.Built(New(cfg))
}
