package torchenc

import "github.com/convirt/convirt/plugins/models/autocast"

// UseLossScaler gives e fp16's dynamic loss scaler starting at scale, so
// that tests on a CPU, where fp16 itself is refused, can drive the
// scaler's wiring (scaled backward, unscaled and skipped steps, the
// checkpoint) in fp32.
func UseLossScaler(e *Encoder, scale float64) {
	e.scaler = autocast.NewScaler()
	e.scaler.Scale = scale
}
