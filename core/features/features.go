// Package features extracts an encoder's embeddings of a dataset split
// (Extract, EncodeRows), reads a split's labels and patient groups
// (ReadLabels), and caches both on disk (Cache), keyed by everything they
// depend on, so that the evaluations of a run, and of later runs, extract
// the same features once.
package features

import (
	"context"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Batch is the number of samples per feature-extraction batch.
const Batch = 128

// Forwarder is what feature extraction needs of an encoder plugin.
type Forwarder interface {
	Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error)
}

// Batcher reads dataset samples by index (a dataset plugin).
type Batcher interface {
	Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error)
}

// SplitReader is what reading a split in order needs of a dataset plugin.
type SplitReader interface {
	Batcher
	Describe(ctx context.Context, split string) (sdk.SplitInfo, error)
}

// Fetched is one dataset batch or the error reading it.
type Fetched struct {
	B   *sdk.Batch
	Err error
}

// Prefetch reads the batches reqs asks for, in order, one or two ahead of
// the consumer; it stops at the first error or when ctx ends.
func Prefetch(ctx context.Context, ds Batcher, reqs []sdk.BatchRequest) <-chan Fetched {
	out := make(chan Fetched, 2)
	go func() {
		defer close(out)
		for _, r := range reqs {
			b, err := ds.Batch(ctx, r)
			select {
			case out <- Fetched{b, err}:
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

// Span returns lo, lo+1, ..., hi-1.
func Span(lo, hi int) []int {
	out := make([]int, 0, max(hi-lo, 0))
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
