package features

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// CacheVersion changes whenever the cache's key or format does.
// 2: feature sets and labels carry the samples' groups (patients), which
// version-1 files lack.
const CacheVersion = 2

// Encoder is a started encoder plugin with what identifies its weights.
type Encoder struct {
	Client Forwarder
	Plugin string
	Config map[string]any
	// Weights identifies the weights: the sha256 of a restored state, or
	// "init" for the plugin's own initialisation from config.
	Weights string
}

// Dataset is a started dataset plugin with its recipe section.
type Dataset struct {
	Client SplitReader
	Plugin string
	Config map[string]any
}

// key is everything extracted features depend on.
type key struct {
	Version       int            `json:"version"`
	Encoder       string         `json:"encoder"`
	EncoderConfig map[string]any `json:"encoder_config"`
	Weights       string         `json:"weights"`
	Output        string         `json:"output"`
	Dataset       string         `json:"dataset"`
	DatasetConfig map[string]any `json:"dataset_config"`
	Split         string         `json:"split"`
}

// Cache keeps extracted features and read labels in Dir, one gob file per
// key, so that the same encoder weights and dataset config are read once.
// An unreadable file is reported to Log and extracted again.
type Cache struct {
	Dir      string
	Log      io.Writer // cache hits and unreadable files
	Progress io.Writer // extraction progress bars
	Seed     int       // the batches' seed (sdk.BatchRequest.Seed)
}

// path is the file holding the features of k.
func (c *Cache) path(k key) (string, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("feature cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:16])+".gob"), nil
}

// Features returns the encoder's embeddings (output: sdk.OutputFeatures or
// sdk.OutputProjection) of every sample of a dataset split, with labels,
// ids and groups (patients), from the cache when the same encoder weights
// and dataset config were extracted before. Texts are encoded when text is
// set, images otherwise.
func (c *Cache) Features(ctx context.Context, enc Encoder, d Dataset, split, output string, text bool) (*sdk.FeatureSet, error) {
	k := key{Version: CacheVersion, Encoder: enc.Plugin, EncoderConfig: enc.Config, Weights: enc.Weights,
		Output: output, Dataset: d.Plugin, DatasetConfig: d.Config, Split: split}
	return cached(c, k, "feature",
		func(fs *sdk.FeatureSet, path string) bool {
			if fs.Features.Validate() != nil {
				return false
			}
			fmt.Fprintf(c.Log, "features of %s/%s (%s, %s) from cache %s\n", d.Plugin, split, enc.Plugin, output, path)
			return true
		},
		func() (*sdk.FeatureSet, error) {
			fs, err := Extract(ctx, enc.Client, d.Client, split, output, text, c.Seed, c.Progress)
			if err != nil {
				return nil, fmt.Errorf("features of %s split %q with encoder %q: %w", d.Plugin, split, enc.Plugin, err)
			}
			return fs, nil
		})
}

// Labels reads the labels of every sample of a dataset split (ReadLabels),
// from the cache when the same dataset config was read before. Samples the
// dataset cannot load get a nil row.
func (c *Cache) Labels(ctx context.Context, d Dataset, split string) (*SplitLabels, error) {
	k := key{Version: CacheVersion, Output: "labels", Dataset: d.Plugin, DatasetConfig: d.Config, Split: split}
	return cached(c, k, "label",
		func(l *SplitLabels, _ string) bool { return len(l.Rows) > 0 },
		func() (*SplitLabels, error) {
			l, err := ReadLabels(ctx, d.Client, split)
			if err != nil {
				return nil, fmt.Errorf("labels of %s split %q: %w", d.Plugin, split, err)
			}
			return l, nil
		})
}

// cached returns the value of key k from c's gob file when it decodes and
// ok accepts it (ok gets the file's path), else computes it and stores it.
// what names the cache in messages ("feature", "label").
func cached[T any](c *Cache, k key, what string, ok func(v *T, path string) bool, compute func() (*T, error)) (*T, error) {
	path, err := c.path(k)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(path); err == nil {
		var v T
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v); err == nil && ok(&v, path) {
			return &v, nil
		}
		fmt.Fprintf(c.Log, "ignoring unreadable %s cache %s\n", what, path)
	}
	v, err := compute()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("%s cache: %w", what, err)
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("%s cache: %w", what, err)
	}
	return v, nil
}
