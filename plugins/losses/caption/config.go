package caption

import (
	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config holds a captioning loss's decoder and tokeniser settings and the
// optimiser of its parameters. Both decoders share it; Heads and FFN are
// the Transformer's, AttnDim the LSTM's.
type Config struct {
	// Settings are the reports' tokeniser's; vocab is required.
	wordpiece.Settings
	// ImageMap is the image encoder's map the decoder attends over.
	lossplugin.ImageMap
	EmbedDim int64 `json:"embed_dim" min:"1" doc:"word embedding size"`
	Hidden   int64 `json:"hidden" min:"1" doc:"LSTM hidden size, or the Transformer's model size"`
	AttnDim  int64 `json:"attn_dim" min:"1" doc:"LSTM: size of the additive attention over regions"`
	Layers   int64 `json:"layers" min:"1" doc:"Transformer: decoder layers"`
	Heads    int64 `json:"heads" min:"1" doc:"Transformer: attention heads (must divide hidden)"`
	FFN      int64 `json:"ffn" min:"1" doc:"Transformer: feed-forward size"`
	lossparams.Config
}

// DefaultConfig decodes over ResNet-50's last map.
func DefaultConfig() Config {
	return Config{Settings: wordpiece.Settings{Lowercase: true, MaxLen: 128}, ImageMap: lossplugin.ImageMap{ImageOutput: sdk.OutputSpatial, ImageDim: 2048}, EmbedDim: 256,
		Hidden: 512, AttnDim: 256, Layers: 2, Heads: 8, FFN: 2048, Config: lossparams.DefaultConfig()}
}

// Schema is both plugins' config schema.
var Schema = schema.MustDerive(DefaultConfig())

// Needs is what a captioning loss asks for: the image's map and the
// batch's reports, which it tokenises itself. No text encoder runs.
func (c Config) Needs() *sdk.LossNeeds {
	return &sdk.LossNeeds{Image: []string{c.ImageOutput}, Texts: true}
}
