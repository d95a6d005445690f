package caption

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
)

// The names the built-in loss plugins are registered under.
const (
	LSTMName        = "caption-lstm"
	TransformerName = "caption-transformer"
)

// Version is the plugins' version.
const Version = "0.1.0"

func init() {
	lossplugin.Register[Config, lstmSpec]()
	lossplugin.Register[Config, transformerSpec]()
}

// NewLSTM returns the caption-lstm loss for cfg.
func NewLSTM(cfg Config) (*Loss, error) { return newLoss(LSTMName, cfg, newLSTM) }

// NewTransformer returns the caption-transformer loss for cfg.
func NewTransformer(cfg Config) (*Loss, error) {
	return newLoss(TransformerName, cfg, newTransformer)
}

type lstmSpec struct{}

func (lstmSpec) Info() sdk.Info {
	info := lossplugin.Info(LSTMName, Version, "the paper's Caption-LSTM baseline: an LSTM decoder with attention over the image's regions (Show, Attend and Tell) generates the report", Schema)
	info.Needs = DefaultConfig().Needs()
	return info
}
func (lstmSpec) Defaults() Config { return DefaultConfig() }
func (lstmSpec) New(cfg Config) (lossplugin.Loss, error) {
	return lossplugin.Built(NewLSTM(cfg))
}

type transformerSpec struct{}

func (transformerSpec) Info() sdk.Info {
	info := lossplugin.Info(TransformerName, Version, "the paper's Caption-Transformer baseline: a Transformer decoder attending over the image's regions generates the report", Schema)
	info.Needs = DefaultConfig().Needs()
	return info
}
func (transformerSpec) Defaults() Config { return DefaultConfig() }
func (transformerSpec) New(cfg Config) (lossplugin.Loss, error) {
	return lossplugin.Built(NewTransformer(cfg))
}

var _ lossplugin.LocalLoss = (*Loss)(nil)
