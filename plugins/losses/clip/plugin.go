package clip

import (
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Spec is the built-in loss plugin "clip" (registered under its name): it
// serves CLIP's symmetric loss with a learnable temperature; Step updates
// the temperature.
var Spec = lossplugin.Register(lossplugin.Spec[Config]{Name: "clip", Version: "0.1.0",
	Description: "CLIP's symmetric InfoNCE with a learnable temperature",
	Schema:      Schema, Defaults: DefaultConfig, New: lossplugin.Builds(newServed)})

// served is the loss as the plugin serves it: its result without the
// temperature's gradient, which stays with the loss for Step (the metrics
// carry the logit scale).
type served struct{ *Loss }

// newServed returns the loss for cfg as the plugin serves it.
func newServed(cfg Config) (served, error) {
	l, err := New(cfg)
	return served{l}, err
}

func (l served) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	r, err := l.Loss.Compute(v, u)
	if err != nil {
		return sdk.LossResult{}, err
	}
	return r.LossResult, nil
}
