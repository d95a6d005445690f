package caption

import "github.com/convirt/convirt/plugins/losses/lossplugin"

// The names the built-in loss plugins are registered under.
const (
	LSTMName        = "caption-lstm"
	TransformerName = "caption-transformer"
)

// The built-in loss plugins caption-lstm and caption-transformer
// (registered under their names).
var (
	LSTMSpec = lossplugin.Register(spec(LSTMName, NewLSTM,
		"the paper's Caption-LSTM baseline: an LSTM decoder with attention over the image's regions (Show, Attend and Tell) generates the report"))
	TransformerSpec = lossplugin.Register(spec(TransformerName, NewTransformer,
		"the paper's Caption-Transformer baseline: a Transformer decoder attending over the image's regions generates the report"))
)

// spec is the plugin of the decoder newLoss builds: both share the config,
// its schema and its needs.
func spec(name string, newLoss func(Config) (*Loss, error), description string) lossplugin.Spec[Config] {
	return lossplugin.Spec[Config]{Name: name, Version: "0.1.0", Description: description,
		Schema: Schema, Defaults: DefaultConfig, New: lossplugin.Builds(newLoss), Needs: Config.Needs}
}

// NewLSTM returns the caption-lstm loss for cfg.
func NewLSTM(cfg Config) (*Loss, error) { return newLoss(LSTMName, cfg, newLSTM) }

// NewTransformer returns the caption-transformer loss for cfg.
func NewTransformer(cfg Config) (*Loss, error) {
	return newLoss(TransformerName, cfg, newTransformer)
}

var _ lossplugin.LocalLoss = (*Loss)(nil)
