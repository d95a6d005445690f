package preflight

import (
	"fmt"
	"strings"

	"github.com/convirt/convirt/core/recipe"
)

// device checks the recipe's device; false when it cannot be used.
func (k *checker) device() bool {
	if k.c.Device == nil {
		return true
	}
	if err := k.c.Device(k.r.Device); err != nil {
		fix := "set device: cpu (--set device=cpu) to run on the CPU"
		if strings.HasPrefix(k.r.Device, "cuda") {
			fix += ", or build convirt against a CUDA libtorch on a machine with a GPU (README, GPU build: make build LIBTORCH=/path/to/libtorch)"
		}
		k.add("device", err.Error(), fix)
		return false
	}
	return true
}

// precisions checks every precision the recipe asks of the encoders (their
// precision and eval_precision, each evaluation's precision) against the
// device, as the encoders will when they are configured.
func (k *checker) precisions() {
	if k.c.Precision == nil {
		return
	}
	type ask struct{ key, precision string }
	var asks []ask
	for _, enc := range []struct {
		key string
		cfg map[string]any
	}{{recipe.ImageEncoderKey, k.r.ImageEncoder.Config}, {recipe.TextEncoderKey, k.r.TextConfig()}} {
		for _, name := range []string{recipe.PrecisionKey, recipe.EvalPrecisionKey} {
			if p, ok := enc.cfg[name].(string); ok {
				asks = append(asks, ask{enc.key + ".config." + name, p})
			}
		}
	}
	for _, e := range k.r.Evaluate {
		asks = append(asks, ask{"evaluate[" + e.Name + "].precision", e.Precision})
	}
	for _, a := range asks {
		if a.precision == "" || a.precision == recipe.PrecisionFP32 {
			continue
		}
		if err := k.c.Precision(k.r.Device, a.precision); err != nil {
			k.add(a.key, err.Error(), fmt.Sprintf("set it to fp32, or run on hardware that has %s (docs/performance.md, Mixed precision)", a.precision))
		}
	}
}
