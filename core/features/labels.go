package features

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// SplitLabels are the labels and groups of every sample of a split, by
// index.
type SplitLabels struct {
	Rows [][]float32 // Rows[i] is sample i's labels; nil when it cannot be read
	K    int
	// Groups[i] is sample i's group (patient, sdk.Batch.Groups; "" when
	// unknown or unreadable); nil when the dataset sent no groups.
	Groups []string
}

// ReadLabels reads a split's labels and groups batch by batch (images and
// all: the dataset has no labels-only read); a batch that comes back short
// (unreadable samples) is read again sample by sample to find which ones,
// and those get a nil row.
func ReadLabels(ctx context.Context, ds SplitReader, split string) (*SplitLabels, error) {
	info, err := ds.Describe(ctx, split)
	if err != nil {
		return nil, err
	}
	k := len(info.LabelNames)
	if k == 0 {
		return nil, fmt.Errorf("split %q has no labels", split)
	}
	l := &SplitLabels{Rows: make([][]float32, info.Len), K: k}
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
	for lo := 0; lo < info.Len; lo += Batch {
		idx := Span(lo, min(lo+Batch, info.Len))
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
