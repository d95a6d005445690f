package gloria

import (
	"math"

	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Config holds GLoRIA's hyper-parameters (the names of its temperatures
// are the paper's code's) and the optimiser of the loss's own parameters:
// the projection of the image's local map into the token space.
type Config struct {
	Temp1 float64 `json:"temp1" min:"1e-6" doc:"sharpness of each word's attention over image regions (GLoRIA: 4)"`
	Temp2 float64 `json:"temp2" min:"1e-6" doc:"scale of the word-region similarities before their log-sum-exp over words (GLoRIA: 5)"`
	Temp3 float64 `json:"temp3" min:"1e-6" doc:"scale of the image-report similarities in both the global and the local contrastive losses (GLoRIA: 10)"`
	// GlobalWeight and LocalWeight weigh the two losses, each the sum of
	// its image-to-text and text-to-image cross-entropies.
	GlobalWeight float64 `json:"global_weight" min:"0" doc:"weight of the global loss (pooled embeddings)"`
	LocalWeight  float64 `json:"local_weight" min:"0" doc:"weight of the local loss (words attending over image regions)"`
	Agg          string  `json:"agg" enum:"sum|mean" doc:"how word similarities aggregate into a report's: sum (GLoRIA) or mean of exp(temp2 * cos)"`
	// ImageMap is the image encoder's local map the words attend over.
	lossplugin.ImageMap
	TextDim int64 `json:"text_dim" min:"1" doc:"size of the text encoder's token states (BERT-base: 768)"`
	// SkipCLS leaves the first token ([CLS]) out of the words.
	SkipCLS bool `json:"skip_cls" doc:"leave the first token ([CLS]) out of the words that attend"`
	lossparams.Config
}

// chance is the loss of an untrained model on a batch of b pairs: each of
// the global and local losses is two cross-entropies over b candidates,
// ln b each when every similarity is alike.
func (c Config) chance(b int64) float64 {
	return (c.GlobalWeight + c.LocalWeight) * 2 * math.Log(float64(b))
}

// DefaultConfig is GLoRIA's published setting on ResNet-50's conv4 and
// BERT-base.
func DefaultConfig() Config {
	return Config{Temp1: 4, Temp2: 5, Temp3: 10, GlobalWeight: 1, LocalWeight: 1, Agg: "sum",
		ImageMap: lossplugin.ImageMap{ImageOutput: sdk.OutputConv4, ImageDim: 1024}, TextDim: 768, SkipCLS: true, Config: lossparams.DefaultConfig()}
}

// Schema is the plugin's config schema.
var Schema = schema.MustDerive(DefaultConfig())

// Spec is the built-in loss plugin "gloria" (registered under its name).
var Spec = lossplugin.Register(lossplugin.Spec[Config]{Name: "gloria", Version: "0.1.0",
	Description: "GLoRIA's global and local (word-region attention) contrastive losses",
	Schema:      Schema, Defaults: DefaultConfig, New: lossplugin.Builds(New), Needs: Config.Needs})

// Needs is what the loss asks of the encoders: both pooled projections
// (the global loss), the image's local map and the report's token states
// with their mask (the local loss).
func (c Config) Needs() *sdk.LossNeeds {
	return &sdk.LossNeeds{
		Image: []string{sdk.OutputProjection, c.ImageOutput},
		Text:  []string{sdk.OutputProjection, sdk.OutputTokens, sdk.OutputTokenMask},
	}
}
