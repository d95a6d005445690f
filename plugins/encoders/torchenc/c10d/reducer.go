package c10d

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/sugarme/gotch/ts"
)

// DefaultFirstBucketBytes is the size of DDP's first bucket
// (torch.distributed's _DEFAULT_FIRST_BUCKET_BYTES, 1 MiB): small, so the
// first all-reduce starts early in the backward.
const DefaultFirstBucketBytes = 1 << 20

// Reducer sums the gradients of a fixed list of parameters over a Group
// while backward runs, as DDP's c10d::Reducer does (reducer.cpp): hooks
// on the parameters' gradient accumulators start each bucket's
// all-reduce, asynchronously, as soon as its gradients are ready, and
// Finish waits for them after the backward.
//
// The first step's backward records the order in which the gradients
// become ready; its Finish agrees on rank 0's order (c10d broadcast),
// cuts the buckets from it and sums them after the backward. From the
// next step on the backward is overlapped: the step's k-th backward
// launches its buckets, k being the number of backwards in the previous
// step (one, or a gradient cache's chunks, so the sum is of all chunks'
// gradients). A backward that turns out not to be the step's last, or a
// step whose count changes, is summed after its backwards instead. Every
// rank must make the same calls in the same order.
//
// A Reducer is used on the thread that runs the backwards, one call at a
// time; its hooks run on autograd's thread.
type Reducer struct {
	r *C.cvd_reducer
	// params keeps the hooked tensors' Go handles alive.
	params []*ts.Tensor
}

// ReduceStats says how one step's gradients were summed.
type ReduceStats struct {
	// Buckets is the number of buckets all-reduced.
	Buckets int
	// InBackward is the number of them started during the backward
	// (Buckets when the step overlapped, 0 when it did not).
	InBackward int
}

// NewReducer hooks params (leaves that require grad, in an order every
// rank shares) into buckets of at most bucketBytes, the first at most
// firstBucketBytes.
func NewReducer(params []*ts.Tensor, firstBucketBytes, bucketBytes int64) (*Reducer, error) {
	if len(params) == 0 {
		return nil, fmt.Errorf("c10d reducer: no parameters")
	}
	ptrs := cTensors(params)
	defer C.free(ptrs)
	var cerr *C.char
	r := C.cvd_reducer_new((*unsafe.Pointer)(ptrs), C.int(len(params)), C.int64_t(firstBucketBytes), C.int64_t(bucketBytes), &cerr)
	runtime.KeepAlive(params)
	if r == nil {
		return nil, fmt.Errorf("c10d reducer: %s", takeString(cerr))
	}
	return &Reducer{r: r, params: params}, nil
}

// Prepare is called before each backward of a step; g is nil before the
// group is joined (that backward is not overlapped).
func (r *Reducer) Prepare(g *Group) {
	var cg *C.cvd_group
	if g != nil {
		cg = g.g
	}
	C.cvd_reducer_prepare(r.r, cg)
}

// Finish sums what the step's backwards left in the gradients over g's
// ranks, in place: it waits for the buckets started during the backward,
// all-reduces the rest, and copies the sums into the gradients. Every rank
// calls it at once.
func (r *Reducer) Finish(g *Group) (ReduceStats, error) {
	var launched, buckets C.int
	err := g.call("all-reduce", func(e **C.char) C.int {
		return C.cvd_reducer_finish(r.r, g.g, &launched, &buckets, e)
	})
	return ReduceStats{Buckets: int(buckets), InBackward: int(launched)}, err
}

// Close removes the hooks. It is safe to call twice.
func (r *Reducer) Close() {
	if r.r != nil {
		C.cvd_reducer_free(r.r)
		r.r = nil
	}
}
