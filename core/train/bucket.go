package train

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Sentence-length bucketing (Config.LengthBuckets). The text encoder pads
// each batch to its longest text (dynamic padding), so a batch mixing a
// 4-word sentence with a 40-word one spends most of its text compute on
// padding. Bucketing reads a window of W batches of the epoch's shuffled
// order, sorts the window's pairs by text length and cuts them into W
// batches again, in a shuffled order: every pair is still seen once per
// epoch, and a batch holds texts of similar length. The window, not the
// whole split, is sorted so that a batch's negatives stay a random draw
// from the corpus apart from their length.
//
// The grouping is a function of the seed, the epoch and the window alone,
// so a resumed run reads the same batches as an uninterrupted one.

// TextLength is the bucketing key of a text: its whitespace-separated
// words. Only the text encoder knows its tokeniser; word-piece tokens grow
// with words, which is all an ordering needs.
func TextLength(s string) int { return len(strings.Fields(s)) }

// rowRef is row Row of window batch Batch.
type rowRef struct{ Batch, Row int }

// windowRNG fixes the order of the regrouped batches of the window that
// starts at batch w0 of epoch.
func windowRNG(seed int64, epoch, w0 int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)^0x5bd1e995, uint64(epoch)<<32|uint64(uint32(w0))))
}

// regroup returns the pairs of window as len(window) batches of texts of
// similar length, in an order drawn from r. A window whose batches came
// back short (bad samples skipped) yields batches as even as the pairs
// allow.
func regroup(window []*sdk.Batch, r *rand.Rand) ([]*sdk.Batch, error) {
	type keyed struct {
		rowRef
		n int
	}
	// Batches that came back empty (every sample failed to load) give no
	// rows and no tensors; the window still yields len(window) batches.
	full := make([]*sdk.Batch, 0, len(window))
	for _, b := range window {
		if len(b.IDs) > 0 {
			full = append(full, b)
		}
	}
	var rows []keyed
	for bi, b := range full {
		if len(b.Texts) != len(b.IDs) {
			return nil, fmt.Errorf("length bucketing: batch of %d pairs has %d texts", len(b.IDs), len(b.Texts))
		}
		for ri, t := range b.Texts {
			rows = append(rows, keyed{rowRef{bi, ri}, TextLength(t)})
		}
	}
	// Stable: pairs of equal length keep the epoch's random order.
	slices.SortStableFunc(rows, func(a, b keyed) int { return cmp.Compare(a.n, b.n) })
	w, n := len(window), len(rows)
	out := make([]*sdk.Batch, 0, w)
	for k := range w {
		part := rows[k*n/w : (k+1)*n/w]
		refs := make([]rowRef, len(part))
		for i, p := range part {
			refs[i] = p.rowRef
		}
		if len(refs) == 0 {
			out = append(out, &sdk.Batch{})
			continue
		}
		b, err := gatherBatch(full, refs)
		if err != nil {
			return nil, fmt.Errorf("length bucketing: %w", err)
		}
		out = append(out, b)
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// gatherBatch builds a batch from the given rows of src's batches.
func gatherBatch(src []*sdk.Batch, refs []rowRef) (*sdk.Batch, error) {
	b := &sdk.Batch{LabelNames: src[0].LabelNames}
	images := make([]*tensor.Tensor, len(src))
	labels := make([]*tensor.Tensor, len(src))
	for i, s := range src {
		images[i], labels[i] = s.Images, s.Labels
	}
	for _, r := range refs {
		b.IDs = append(b.IDs, src[r.Batch].IDs[r.Row])
		b.Texts = append(b.Texts, src[r.Batch].Texts[r.Row])
	}
	var err error
	if b.Images, err = gatherRows(images, refs); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if b.Labels, err = gatherRows(labels, refs); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return b, nil
}

// gatherRows stacks the given rows (first-axis slices) of ts, which must
// agree in dtype and trailing shape; it returns nil when every tensor is nil.
func gatherRows(ts []*tensor.Tensor, refs []rowRef) (*tensor.Tensor, error) {
	nils := 0
	for _, t := range ts {
		if t == nil {
			nils++
		}
	}
	switch {
	case nils == len(ts):
		return nil, nil
	case nils > 0:
		return nil, fmt.Errorf("%d of the window's %d batches lack the tensor", nils, len(ts))
	}
	first := ts[0]
	for i, t := range ts {
		if len(t.Shape) == 0 || t.DType != first.DType || !slices.Equal(t.Shape[1:], first.Shape[1:]) {
			return nil, fmt.Errorf("batch %d: %s %v does not stack with %s %v", i, t.DType, t.Shape, first.DType, first.Shape)
		}
	}
	row := int(tensor.Numel(first.Shape[1:])) * first.DType.Size()
	out := &tensor.Tensor{DType: first.DType, Shape: append([]int64{int64(len(refs))}, first.Shape[1:]...),
		Data: make([]byte, 0, len(refs)*row)}
	for _, r := range refs {
		t := ts[r.Batch]
		if int64(r.Row) >= t.Shape[0] {
			return nil, fmt.Errorf("batch %d: row %d of %v", r.Batch, r.Row, t.Shape)
		}
		out.Data = append(out.Data, t.Data[r.Row*row:(r.Row+1)*row]...)
	}
	return out, nil
}
