package experiment

import (
	"context"
	"path/filepath"

	"github.com/convirt/convirt/core/features"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
)

// encoder is a started encoder plugin with what identifies its weights.
type encoder struct {
	client *host.Encoder
	plugin string
	config map[string]any
	// weights identifies the weights: the sha256 of a restored state, or
	// "init" for the plugin's own initialisation from config.
	weights string
}

// dataset is a started dataset plugin with its recipe section.
type dataset struct {
	client *host.Dataset
	plugin string
	config map[string]any
}

// source is d as the feature cache keys it.
func (d dataset) source() features.Dataset {
	return features.Dataset{Client: d.client, Plugin: d.plugin, Config: d.config}
}

// cache is the run's feature cache, under <output>/.cache/features.
func (s *session) cache() *features.Cache {
	return &features.Cache{Dir: filepath.Join(s.r.Output, ".cache", "features"), Log: s.log, Progress: s.opt.Progress, Seed: s.r.Seed}
}

// features returns the encoder's embeddings of a dataset split
// (features.Cache.Features).
func (s *session) features(ctx context.Context, enc encoder, d dataset, split, output string, text bool) (*sdk.FeatureSet, error) {
	e := features.Encoder{Client: enc.client, Plugin: enc.plugin, Config: enc.config, Weights: enc.weights}
	return s.cache().Features(ctx, e, d.source(), split, output, text)
}
