package torchenc

import (
	"github.com/convirt/convirt/plugins/encoders/torchenc/c10d"
)

// The all-reduce of a replicated encoder's gradients overlapped with its
// backward (docs/distributed.md): before every backward the replicas'
// c10d.Reducer is prepared, and its hooks on the parameters' gradient
// accumulators start each bucket's all-reduce as soon as the bucket's
// gradients are ready; the step (sumGrads) waits for them. The first
// step, whose backward records the order the gradients become ready in,
// and a step whose number of backwards differs from the previous step's
// (a gradient cache's chunks) are summed after their backwards instead.

// bucketBytes is the replicas' bucket cap, DDP's 25 MiB unless set.
func (d *dataParallel) bucketBytes() int64 {
	if d.cfg.BucketBytes > 0 {
		return d.cfg.BucketBytes
	}
	return c10d.DefaultBucketBytes
}

// prepareReduce readies the overlap before a backward, on e's thread: the
// reducer is made at the first backward (over the trainable variables in
// the order of their names) and prepared before each. It does nothing for
// an encoder that is not replicated or that sums after the backward.
func (e *Encoder) prepareReduce() error {
	if e.dp == nil || e.dp.cfg.World == 1 || e.dp.cfg.NoOverlap {
		return nil
	}
	if e.dp.reducer == nil {
		_, params := e.trainable()
		b := e.dp.bucketBytes()
		r, err := c10d.NewReducer(params, min(c10d.DefaultFirstBucketBytes, b), b)
		if err != nil {
			return err
		}
		e.dp.reducer = r
	}
	e.dp.reducer.Prepare(e.dp.group)
	return nil
}

// ReduceStats says how the last step's gradients were summed over the
// replicas: the buckets, and how many of them were started during the
// backward (zero values for an encoder that is not replicated, or that
// sums after the backward).
func (e *Encoder) ReduceStats() c10d.ReduceStats {
	return dataParallelRead(e, func(dp *dataParallel) c10d.ReduceStats { return dp.stats })
}
