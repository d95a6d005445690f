package experiment

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// splitLabels are the labels and groups of every sample of a split, by
// index.
type splitLabels struct {
	Rows [][]float32 // Rows[i] is sample i's labels; nil when it cannot be read
	K    int
	// Groups[i] is sample i's group (patient, sdk.Batch.Groups; "" when
	// unknown or unreadable); nil when the dataset sent no groups.
	Groups []string
}

// labels reads the labels of every sample of a dataset split through its
// batches (images and all: the dataset has no labels-only read), from the
// feature cache when the same dataset config was read before. Samples the
// dataset cannot load get a nil row.
func (s *session) labels(ctx context.Context, d dataset, split string) (*splitLabels, error) {
	key := featureKey{Version: featureCacheVersion, Output: "labels", Dataset: d.plugin, DatasetConfig: d.config, Split: split}
	path, err := s.cachePath(key)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(path); err == nil {
		var l splitLabels
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&l); err == nil && len(l.Rows) > 0 {
			return &l, nil
		}
		fmt.Fprintf(s.log, "ignoring unreadable label cache %s\n", path)
	}
	l, err := readLabels(ctx, d.client, split)
	if err != nil {
		return nil, fmt.Errorf("labels of %s split %q: %w", d.plugin, split, err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(l); err != nil {
		return nil, fmt.Errorf("label cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("label cache: %w", err)
	}
	return l, nil
}

// readLabels reads a split's labels and groups batch by batch; a batch
// that comes back short (unreadable samples) is read again sample by
// sample to find which ones.
func readLabels(ctx context.Context, ds splitReader, split string) (*splitLabels, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	k := len(info.LabelNames)
	if k == 0 {
		return nil, fmt.Errorf("split %q has no labels", split)
	}
	l := &splitLabels{Rows: make([][]float32, info.Len), K: k}
	read := func(idx []int) (*sdk.Batch, error) {
		b, err := ds.Batch(ctx, sdk.BatchRequest{Split: split, Indices: idx})
		if err != nil {
			return nil, err
		}
		if len(b.IDs) == 0 {
			return b, nil // every sample failed to load
		}
		if b.Labels == nil || len(b.Labels.Shape) != 2 || int(b.Labels.Shape[1]) != k || int(b.Labels.Shape[0]) != len(b.IDs) {
			return nil, fmt.Errorf("a batch came without (N,%d) labels", k)
		}
		if len(b.Groups) != 0 && len(b.Groups) != len(b.IDs) {
			return nil, fmt.Errorf("a batch came with %d groups for %d samples", len(b.Groups), len(b.IDs))
		}
		return b, nil
	}
	groups := make([]string, info.Len)
	grouped := false // some batch carried groups
	setGroups := func(idx []int, b *sdk.Batch) {
		if len(b.Groups) == 0 {
			return
		}
		grouped = true
		for j, i := range idx {
			groups[i] = b.Groups[j]
		}
	}
	for lo := 0; lo < info.Len; lo += evalBatch {
		idx := span(lo, min(lo+evalBatch, info.Len))
		b, err := read(idx)
		if err != nil {
			return nil, err
		}
		if len(b.IDs) == len(idx) {
			v, err := b.Labels.Float32s()
			if err != nil {
				return nil, err
			}
			for j, i := range idx {
				l.Rows[i] = v[j*k : (j+1)*k]
			}
			setGroups(idx, b)
			continue
		}
		for _, i := range idx {
			one, err := read([]int{i})
			if err != nil || len(one.IDs) != 1 {
				continue // unreadable: left out of every subset
			}
			if l.Rows[i], err = one.Labels.Float32s(); err != nil {
				return nil, err
			}
			setGroups([]int{i}, one)
		}
	}
	if grouped {
		l.Groups = groups
	}
	return l, nil
}

// span returns lo, lo+1, ..., hi-1.
func span(lo, hi int) []int {
	out := make([]int, 0, max(hi-lo, 0))
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// batcher reads dataset samples by index (a dataset plugin).
type batcher interface {
	Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error)
}

// trainable is what fine-tuning needs of an encoder plugin.
type trainable interface {
	Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error)
	Backward(ctx context.Context, grad *tensor.Tensor) error
	Step(ctx context.Context, req sdk.StepRequest) error
	State(ctx context.Context) ([]byte, error)
	SetState(ctx context.Context, state []byte) error
}

// prefetch reads the batches reqs asks for, in order, one or two ahead of
// the consumer; it stops at the first error or when ctx ends.
func prefetch(ctx context.Context, ds batcher, reqs []sdk.BatchRequest) <-chan fetched {
	out := make(chan fetched, 2)
	go func() {
		defer close(out)
		for _, r := range reqs {
			b, err := ds.Batch(ctx, r)
			select {
			case out <- fetched{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// encodeRows runs the encoder in evaluation mode over rows of a split and
// returns their features with labels, ids and groups (unreadable samples
// left out).
func encodeRows(ctx context.Context, enc trainable, ds batcher, split string, rows []int, names []string) (*sdk.FeatureSet, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var reqs []sdk.BatchRequest
	for lo := 0; lo < len(rows); lo += evalBatch {
		reqs = append(reqs, sdk.BatchRequest{Split: split, Indices: rows[lo:min(lo+evalBatch, len(rows))]})
	}
	fs := &sdk.FeatureSet{LabelNames: names}
	var feats, labels []float32
	dim, k := -1, len(names)
	for f := range prefetch(ctx, ds, reqs) {
		if f.err != nil {
			return nil, f.err
		}
		if len(f.b.IDs) == 0 {
			continue // every sample failed to load; the dataset counted them
		}
		if f.b.Labels == nil {
			return nil, fmt.Errorf("split %q: a batch came without labels", split)
		}
		out, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{IDs: f.b.IDs, Images: f.b.Images}, Output: sdk.OutputFeatures})
		if err != nil {
			return nil, err
		}
		if len(out.Shape) != 2 || int(out.Shape[0]) != len(f.b.IDs) || (dim >= 0 && int(out.Shape[1]) != dim) {
			return nil, fmt.Errorf("encoder returned shape %v for %d samples", out.Shape, len(f.b.IDs))
		}
		dim = int(out.Shape[1])
		v, err := out.Float32s()
		if err != nil {
			return nil, err
		}
		l, err := f.b.Labels.Float32s()
		if err != nil {
			return nil, err
		}
		feats, labels = append(feats, v...), append(labels, l...)
		if fs.Groups, err = appendGroups(fs.Groups, len(fs.IDs), f.b); err != nil {
			return nil, fmt.Errorf("split %q: %w", split, err)
		}
		fs.IDs = append(fs.IDs, f.b.IDs...)
	}
	n := int64(len(fs.IDs))
	if n == 0 {
		return nil, fmt.Errorf("split %q: no readable samples", split)
	}
	var err error
	if fs.Features, err = tensor.FromFloat32([]int64{n, int64(dim)}, feats); err != nil {
		return nil, err
	}
	if fs.Labels, err = tensor.FromFloat32([]int64{n, int64(k)}, labels); err != nil {
		return nil, err
	}
	return fs, nil
}
