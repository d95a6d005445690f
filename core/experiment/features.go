package experiment

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

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// featureCacheVersion changes whenever the cache's key or format does.
// 2: feature sets and labels carry the samples' groups (patients), which
// version-1 files lack.
const featureCacheVersion = 2

// evalBatch is the number of samples per feature-extraction batch.
const evalBatch = 128

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

// featureKey is everything extracted features depend on.
type featureKey struct {
	Version       int            `json:"version"`
	Encoder       string         `json:"encoder"`
	EncoderConfig map[string]any `json:"encoder_config"`
	Weights       string         `json:"weights"`
	Output        string         `json:"output"`
	Dataset       string         `json:"dataset"`
	DatasetConfig map[string]any `json:"dataset_config"`
	Split         string         `json:"split"`
}

// cachePath is the file holding the features of key.
func (s *session) cachePath(k featureKey) (string, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("feature cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return filepath.Join(s.r.Output, ".cache", "features", hex.EncodeToString(sum[:16])+".gob"), nil
}

// features returns the encoder's embeddings (output: sdk.OutputFeatures or
// sdk.OutputProjection) of every sample of a dataset split, with labels,
// ids and groups (patients), from the cache when the same encoder weights and dataset config were
// extracted before. Texts are encoded when text is set, images otherwise.
func (s *session) features(ctx context.Context, enc encoder, d dataset, split, output string, text bool) (*sdk.FeatureSet, error) {
	key := featureKey{Version: featureCacheVersion, Encoder: enc.plugin, EncoderConfig: enc.config, Weights: enc.weights,
		Output: output, Dataset: d.plugin, DatasetConfig: d.config, Split: split}
	path, err := s.cachePath(key)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(path); err == nil {
		var fs sdk.FeatureSet
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&fs); err == nil && fs.Features.Validate() == nil {
			fmt.Fprintf(s.log, "features of %s/%s (%s, %s) from cache %s\n", d.plugin, split, enc.plugin, output, path)
			return &fs, nil
		}
		fmt.Fprintf(s.log, "ignoring unreadable feature cache %s\n", path)
	}
	fs, err := extract(ctx, enc.client, d.client, split, output, text, s.r.Seed, s.opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("features of %s split %q with encoder %q: %w", d.plugin, split, enc.plugin, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(fs); err != nil {
		return nil, fmt.Errorf("feature cache: %w", err)
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("feature cache: %w", err)
	}
	return fs, nil
}

// fetched is one dataset batch or the error reading it.
type fetched struct {
	b   *sdk.Batch
	err error
}

// forwarder is what feature extraction needs of an encoder plugin.
type forwarder interface {
	Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error)
}

// splitReader is what reading a split in order needs of a dataset plugin.
type splitReader interface {
	batcher
	Describe(ctx context.Context, split string) (sdk.SplitInfo, error)
}

// extract runs the encoder over a split in order, reading the next batch
// while the encoder works on the current one. Samples the dataset cannot
// load are left out (a batch of them only comes back empty). The feature
// set carries the batches' groups (appendGroups).
func extract(ctx context.Context, enc forwarder, ds splitReader, split, output string, text bool, seed int, w io.Writer) (*sdk.FeatureSet, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	if info.Len == 0 {
		return nil, fmt.Errorf("split %q is empty", split)
	}
	bar := progress.New(w, int64(info.Len), "features "+split)
	defer bar.Finish()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan fetched, 2)
	go func() {
		defer close(batches)
		for lo := 0; lo < info.Len; lo += evalBatch {
			idx := make([]int, 0, evalBatch)
			for i := lo; i < min(lo+evalBatch, info.Len); i++ {
				idx = append(idx, i)
			}
			b, err := ds.Batch(ctx, sdk.BatchRequest{Split: split, Indices: idx, Seed: int64(seed)})
			select {
			case batches <- fetched{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	fs := &sdk.FeatureSet{LabelNames: info.LabelNames}
	var feats, labels []float32
	dim, k := -1, len(info.LabelNames)
	for f := range batches {
		if f.err != nil {
			return nil, f.err
		}
		if len(f.b.IDs) == 0 {
			continue // every sample failed to load; the dataset counted them
		}
		in := &sdk.Batch{IDs: f.b.IDs, Images: f.b.Images}
		if text {
			in = &sdk.Batch{IDs: f.b.IDs, Texts: f.b.Texts}
			if len(f.b.Texts) != len(f.b.IDs) {
				return nil, fmt.Errorf("split %q has samples without text", split)
			}
		}
		out, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: in, Output: output})
		if err != nil {
			return nil, err
		}
		v, err := out.Float32s()
		if err != nil {
			return nil, err
		}
		if len(out.Shape) != 2 || int(out.Shape[0]) != len(f.b.IDs) || (dim >= 0 && int(out.Shape[1]) != dim) {
			return nil, fmt.Errorf("encoder returned shape %v for %d samples", out.Shape, len(f.b.IDs))
		}
		dim = int(out.Shape[1])
		feats = append(feats, v...)
		if k > 0 {
			if f.b.Labels == nil {
				return nil, fmt.Errorf("split %q: a batch came without labels", split)
			}
			l, err := f.b.Labels.Float32s()
			if err != nil {
				return nil, err
			}
			labels = append(labels, l...)
		}
		if fs.Groups, err = appendGroups(fs.Groups, len(fs.IDs), f.b); err != nil {
			return nil, fmt.Errorf("split %q: %w", split, err)
		}
		fs.IDs = append(fs.IDs, f.b.IDs...)
		bar.Add(int64(len(f.b.IDs)))
	}
	n := int64(len(fs.IDs))
	if fs.Features, err = tensor.FromFloat32([]int64{n, int64(dim)}, feats); err != nil {
		return nil, err
	}
	if k > 0 {
		if fs.Labels, err = tensor.FromFloat32([]int64{n, int64(k)}, labels); err != nil {
			return nil, err
		}
	}
	if skipped := info.Len - int(n); skipped > 0 {
		bar.Describe(fmt.Sprintf("(%d unreadable samples skipped)", skipped))
	}
	return fs, nil
}

// appendGroups appends batch b's groups (sdk.Batch.Groups, the samples'
// patients) to groups, the groups of the n samples read before: groups
// stays nil until a batch carries any, so a dataset that knows none (or
// predates the field) gives nil, and the samples of a batch without groups
// get "", a group of their own. Groups must be one per id.
func appendGroups(groups []string, n int, b *sdk.Batch) ([]string, error) {
	switch {
	case len(b.Groups) == 0:
		if groups != nil {
			groups = append(groups, make([]string, len(b.IDs))...)
		}
		return groups, nil
	case len(b.Groups) != len(b.IDs):
		return nil, fmt.Errorf("a batch came with %d groups for %d samples", len(b.Groups), len(b.IDs))
	}
	if groups == nil {
		groups = make([]string, n, n+len(b.IDs))
	}
	return append(groups, b.Groups...), nil
}
