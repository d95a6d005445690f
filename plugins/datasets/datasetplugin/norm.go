package datasetplugin

import (
	"fmt"
	"math"
)

// ImageNetMean and ImageNetStd are torchvision's normalisation, which
// ImageNet weights expect on their three (RGB) channels; recipes/paper sets
// them as the mean and std keys with channels: 3. Without the keys a batch
// is normalised as loader.Options does by default, (x - 0.5) / 0.25 on
// every channel (the demo's). docs/datasets.md says what to use with one
// channel.
var (
	ImageNetMean = []float64{0.485, 0.456, 0.406}
	ImageNetStd  = []float64{0.229, 0.224, 0.225}
)

// checkNorm validates the mean and std keys: both or neither, one finite
// value per channel, every std above 0.
func checkNorm(cfg Config) error {
	if (cfg.Mean == nil) != (cfg.Std == nil) {
		set, unset := "mean", "std"
		if cfg.Mean == nil {
			set, unset = unset, set
		}
		return fmt.Errorf("config key %s is set without %s: give both (one value per channel)", set, unset)
	}
	for _, k := range []struct {
		key string
		v   []float64
	}{{"mean", cfg.Mean}, {"std", cfg.Std}} {
		if k.v == nil {
			continue
		}
		if len(k.v) != cfg.Channels {
			return fmt.Errorf("config key %s has %d values for channels: %d: give one per channel", k.key, len(k.v), cfg.Channels)
		}
		for i, x := range k.v {
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0):
				return fmt.Errorf("config key %s.%d is %v: want a finite number", k.key, i, x)
			case k.key == "std" && x <= 0:
				return fmt.Errorf("config key std.%d is %v: a standard deviation must be > 0", i, x)
			}
		}
	}
	return nil
}

// float32s converts a normalisation list for loader.Options (nil stays nil:
// the loader's default).
func float32s(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
