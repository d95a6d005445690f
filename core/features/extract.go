package features

import (
	"context"
	"fmt"
	"io"

	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Extract runs the encoder over a split in order, reading the next batch
// while the encoder works on the current one, and returns the embeddings
// (output: sdk.OutputFeatures or sdk.OutputProjection) with labels, ids
// and groups (AppendGroups). Texts are encoded when text is set, images
// otherwise; seed is the batches' seed. Samples the dataset cannot load are
// left out (a batch of them only comes back empty). Progress goes to w.
func Extract(ctx context.Context, enc Forwarder, ds SplitReader, split, output string, text bool, seed int, w io.Writer) (*sdk.FeatureSet, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	if info.Len == 0 {
		return nil, fmt.Errorf("split %q is empty", split)
	}
	bar := progress.New(w, int64(info.Len), "features "+split)
	defer bar.Finish()
	var reqs []sdk.BatchRequest
	for lo := 0; lo < info.Len; lo += Batch {
		reqs = append(reqs, sdk.BatchRequest{Split: split, Indices: Span(lo, min(lo+Batch, info.Len)), Seed: int64(seed)})
	}
	fs, err := encode(ctx, enc, ds, reqs, split, output, text, info.LabelNames, len(info.LabelNames) > 0, func(n int) { bar.Add(int64(n)) })
	if err != nil {
		return nil, err
	}
	if skipped := info.Len - len(fs.IDs); skipped > 0 {
		bar.Describe(fmt.Sprintf("(%d unreadable samples skipped)", skipped))
	}
	return fs, nil
}

// EncodeRows runs the encoder in evaluation mode over rows of a split and
// returns their pooled features with labels (names are the label columns),
// ids and groups; unreadable samples are left out.
func EncodeRows(ctx context.Context, enc Forwarder, ds Batcher, split string, rows []int, names []string) (*sdk.FeatureSet, error) {
	var reqs []sdk.BatchRequest
	for lo := 0; lo < len(rows); lo += Batch {
		reqs = append(reqs, sdk.BatchRequest{Split: split, Indices: rows[lo:min(lo+Batch, len(rows))]})
	}
	fs, err := encode(ctx, enc, ds, reqs, split, sdk.OutputFeatures, false, names, true, nil)
	if err == nil && len(fs.IDs) == 0 {
		return nil, fmt.Errorf("split %q: no readable samples", split)
	}
	return fs, err
}

// encode runs the encoder over the batches reqs asks for, reading the next
// batch while the encoder works on the current one, and gathers the
// embeddings (output) of the texts (text) or images with ids, groups and,
// when withLabels, labels (names are their columns). Samples the dataset
// cannot load are left out; done, when set, gets each batch's size.
func encode(ctx context.Context, enc Forwarder, ds Batcher, reqs []sdk.BatchRequest, split, output string, text bool, names []string, withLabels bool, done func(int)) (*sdk.FeatureSet, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fs := &sdk.FeatureSet{LabelNames: names}
	var feats, labels []float32
	dim, k := -1, len(names)
	for f := range Prefetch(ctx, ds, reqs) {
		if f.Err != nil {
			return nil, f.Err
		}
		if len(f.B.IDs) == 0 {
			continue // every sample failed to load; the dataset counted them
		}
		in := &sdk.Batch{IDs: f.B.IDs, Images: f.B.Images}
		if text {
			in = &sdk.Batch{IDs: f.B.IDs, Texts: f.B.Texts}
			if len(f.B.Texts) != len(f.B.IDs) {
				return nil, fmt.Errorf("split %q has samples without text", split)
			}
		}
		out, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: in, Output: output})
		if err != nil {
			return nil, err
		}
		if len(out.Shape) != 2 || int(out.Shape[0]) != len(f.B.IDs) || (dim >= 0 && int(out.Shape[1]) != dim) {
			return nil, fmt.Errorf("encoder returned shape %v for %d samples", out.Shape, len(f.B.IDs))
		}
		dim = int(out.Shape[1])
		v, err := out.Float32s()
		if err != nil {
			return nil, err
		}
		feats = append(feats, v...)
		if withLabels {
			if f.B.Labels == nil {
				return nil, fmt.Errorf("split %q: a batch came without labels", split)
			}
			l, err := f.B.Labels.Float32s()
			if err != nil {
				return nil, err
			}
			labels = append(labels, l...)
		}
		if fs.Groups, err = AppendGroups(fs.Groups, len(fs.IDs), f.B); err != nil {
			return nil, fmt.Errorf("split %q: %w", split, err)
		}
		fs.IDs = append(fs.IDs, f.B.IDs...)
		if done != nil {
			done(len(f.B.IDs))
		}
	}
	n := int64(len(fs.IDs))
	var err error
	if fs.Features, err = tensor.FromFloat32([]int64{n, int64(dim)}, feats); err != nil {
		return nil, err
	}
	if withLabels {
		if fs.Labels, err = tensor.FromFloat32([]int64{n, int64(k)}, labels); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// AppendGroups appends batch b's groups (sdk.Batch.Groups, the samples'
// patients) to groups, the groups of the n samples read before: groups
// stays nil until a batch carries any, so a dataset that knows none (or
// predates the field) gives nil, and the samples of a batch without groups
// get "", a group of their own. Groups must be one per id.
func AppendGroups(groups []string, n int, b *sdk.Batch) ([]string, error) {
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
