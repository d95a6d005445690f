package torchenc_test

// The precision's wiring: a precision the device cannot run refused when
// the plugin is configured, and fp16's loss scaler driven in fp32.

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch"
)

// TestPrecisionRefusals: a precision the device cannot run is refused when
// the plugin is configured, with the reason.
func TestPrecisionRefusals(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"precision": "fp16"}, "precision fp16 needs a CUDA device"},
		{map[string]any{"eval_precision": "fp16"}, "eval_precision: precision fp16 needs a CUDA device"},
		{map[string]any{"precision": "fp8"}, `precision "fp8": want fp32, bf16, fp16`},
	} {
		p := image.New(image.SmallCNN)
		err := p.Configure(context.Background(), c.cfg)
		p.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: Configure = %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
	if autocast.Check(autocast.BF16, gotch.CPU) != nil {
		p := image.New(image.SmallCNN)
		defer p.Close()
		if err := p.Configure(context.Background(), map[string]any{"precision": "bf16"}); err == nil || !strings.Contains(err.Error(), "neither AVX-512 BF16 nor AMX") {
			t.Errorf("bf16 on a CPU without it: %v", err)
		}
	}
}

// scalars reads the scalars of an encoder's checkpoint.
func scalars(t *testing.T, e *torchenc.Encoder) map[string]float64 {
	t.Helper()
	b, err := e.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal([]byte(f.Metadata["scalars"]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLossScalerWiring drives fp16's loss scaler in fp32 (fp16 itself is
// refused on a CPU): a scaled backward and the unscaled step move the
// weights exactly as an unscaled step does (the scale is a power of two);
// a step with an inf gradient leaves the weights alone, halves the scale
// and records it in the checkpoint; the next finite step trains again.
func TestLossScalerWiring(t *testing.T) {
	ref, scaled := newMLP(t, autocast.FP32), newMLP(t, autocast.FP32)
	torchenc.UseLossScaler(scaled, 1024)
	want, got := sgdGradients(t, ref, false), sgdGradients(t, scaled, false)
	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("%s: the scaled step moved the weights by %v..., the unscaled one by %v...", name, got[name][:2], w[:2])
		}
	}
	if s := scalars(t, scaled); s["loss_scale"] != 1024 || s["loss_scale_good"] != 1 {
		t.Errorf("after a finite step: checkpoint scalars %v, want loss_scale 1024, loss_scale_good 1", s)
	}
	moves := sgdStep(t, scaled, false, func(g []float32) {
		for i := range g {
			g[i] = 1
		}
		g[3] = float32(math.Inf(1))
	})
	for name, d := range moves {
		for _, v := range d {
			if v != 0 {
				t.Fatalf("%s moved in a step with an inf gradient", name)
			}
		}
	}
	if s := scalars(t, scaled); s["loss_scale"] != 512 || s["loss_scale_good"] != 0 {
		t.Errorf("after the inf step: checkpoint scalars %v, want loss_scale 512, loss_scale_good 0", s)
	}
	var moved bool
	for _, d := range sgdGradients(t, scaled, false) {
		for _, v := range d {
			moved = moved || v != 0
		}
	}
	if !moved {
		t.Error("the finite step after a skipped one did not train")
	}
}
