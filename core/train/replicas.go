package train

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"golang.org/x/sync/errgroup"
)

// Replicas is one encoder served by data-parallel replicas, each its own
// plugin process (docs/distributed.md), as the loop sees one Encoder.
//
// A forward splits the batch into one shard of consecutive rows per
// replica (near-equal sizes, in rank order) and concatenates their outputs,
// so the loss sees the embeddings of the whole global batch: every pair's
// negatives are all the batch's other pairs, whatever the number of
// replicas. A backward sends each replica the rows of the loss's gradient
// that belong to its shard. A step runs on every replica at once: the
// replicas sum their parameter gradients with c10d's all-reduce
// (plugins/encoders/torchenc) and then all take the same optimiser step.
// The state is replica 0's (checkpoints are written once); a restored
// state goes to every replica, so a run resumes onto any number of them.
// On one host the replicas serve named outputs the same way
// (ForwardNamed, BackwardNamed: replicas_named.go).
type Replicas struct {
	members []Encoder
	// first is the global rank of members[0], world the number of
	// replicas on all hosts; gathered says the members return the
	// outputs of all world shards (NewHostReplicas).
	first, world int
	gathered     bool
	// Clock times the wait for a dead replica's exit after a failed call
	// (PeerExitGrace); nil is the system clock. Tests pass a clock.Fake.
	Clock clock.Clock
	// pending holds the shard bounds of each Graph forward awaiting its
	// Backward, oldest first, as every encoder keeps its graphs;
	// pendingNamed those of each Graph ForwardNamed awaiting its
	// BackwardNamed, a queue of its own as the members keep
	// (replicas_named.go).
	pending      [][]int
	pendingNamed []namedShards
}

// NewReplicas returns the encoder that members, in rank order, serve
// together.
func NewReplicas(members []Encoder) (*Replicas, error) {
	if len(members) == 0 {
		return nil, errors.New("replicas: none")
	}
	return &Replicas{members: members, world: len(members)}, nil
}

// NewHostReplicas returns the encoder that this host's members serve as
// global ranks first to first+len(members)-1 of world replicas spread over
// several hosts (docs/distributed.md). Every host forwards the same global
// batch: each member embeds its global rank's shard (all shards the same
// size) and returns the outputs of every rank's shard, all-gathered by the
// replicas (sdk.Replica.Gather), so each host's loss sees the whole global
// batch; each member is sent its own shard's rows of the gradient.
func NewHostReplicas(members []Encoder, first, world int) (*Replicas, error) {
	if len(members) == 0 || first < 0 || first+len(members) > world {
		return nil, fmt.Errorf("replicas: %d on this host from global rank %d do not fit %d in all", len(members), first, world)
	}
	return &Replicas{members: members, first: first, world: world, gathered: true}, nil
}

// Len is the number of replicas.
func (r *Replicas) Len() int { return len(r.members) }

// bounds splits n rows into one shard per replica: bounds[i] to
// bounds[i+1] are replica i's rows, the first n%N shards one row longer.
func (r *Replicas) bounds(n int) ([]int, error) {
	k := r.world
	if n < k {
		return nil, fmt.Errorf("replicas: a batch of %d pairs cannot be split over %d replicas (each needs at least one)", n, k)
	}
	if r.gathered && n%k != 0 {
		return nil, fmt.Errorf("replicas: a batch of %d pairs cannot be split evenly over %d replicas on several hosts (their outputs are all-gathered in equal shards)", n, k)
	}
	b := make([]int, k+1)
	for i := range k {
		size := n / k
		if i < n%k {
			size++
		}
		b[i+1] = b[i] + size
	}
	return b, nil
}

// all runs f on every replica at once and returns the first error, naming
// the replica; the others' calls are cancelled. When a replica's process
// died, the error is that death's, whichever replica failed first
// (groupFault): a replica that dies fails its peers' collectives too.
func (r *Replicas) all(ctx context.Context, what string, f func(ctx context.Context, i int, e Encoder) error) error {
	g, gctx := errgroup.WithContext(ctx)
	var once sync.Once
	first, firstErr := -1, error(nil)
	for i, e := range r.members {
		g.Go(func() error {
			if err := f(gctx, i, e); err != nil {
				err = fmt.Errorf("replica %d of %d: %s: %w", r.first+i, r.world, what, err)
				once.Do(func() { first, firstErr = i, err })
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err == nil || ctx.Err() != nil {
		return err
	}
	return r.groupFault(ctx, what, first, firstErr)
}

// eachShard runs f on every replica at once, as all does, with req for
// its shard of req's batch: the rows bounds[g] to bounds[g+1] of its
// global rank g.
func (r *Replicas) eachShard(ctx context.Context, what string, req sdk.ForwardRequest, bounds []int, f func(ctx context.Context, i int, e Encoder, sreq sdk.ForwardRequest) error) error {
	return r.all(ctx, what, func(ctx context.Context, i int, e Encoder) error {
		shard, err := sliceBatch(req.Batch, bounds[r.first+i], bounds[r.first+i+1])
		if err != nil {
			return err
		}
		sreq := req
		sreq.Batch = shard
		return f(ctx, i, e, sreq)
	})
}

// Forward implements Encoder: each replica encodes its shard of the batch;
// the outputs are concatenated in rank order.
func (r *Replicas) Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	if req.Batch == nil {
		return nil, errors.New("replicas: forward: no batch")
	}
	bounds, err := r.bounds(batchRows(req.Batch))
	if err != nil {
		return nil, err
	}
	outs := make([]*tensor.Tensor, len(r.members))
	err = r.eachShard(ctx, "forward", req, bounds, func(ctx context.Context, i int, e Encoder, sreq sdk.ForwardRequest) (err error) {
		outs[i], err = e.Forward(ctx, sreq)
		return err
	})
	if err != nil {
		return nil, err
	}
	y, err := r.output(outs, bounds[len(bounds)-1])
	if err != nil {
		return nil, fmt.Errorf("replicas: forward: %w", err)
	}
	if req.Graph {
		r.pending = append(r.pending, bounds)
	}
	return y, nil
}

// Backward implements Encoder: each replica back-propagates its shard's
// rows of grad through its oldest pending graph.
func (r *Replicas) Backward(ctx context.Context, grad *tensor.Tensor) error {
	if len(r.pending) == 0 {
		return errors.New("replicas: backward: no forward with graph is pending")
	}
	bounds := r.pending[0]
	r.pending = r.pending[1:]
	if len(grad.Shape) == 0 || grad.Shape[0] != int64(bounds[len(bounds)-1]) {
		return fmt.Errorf("replicas: backward: gradient of shape %v for a forward of %d rows", grad.Shape, bounds[len(bounds)-1])
	}
	return r.all(ctx, "backward", func(ctx context.Context, i int, e Encoder) error {
		g, err := sliceRows(grad, bounds[r.first+i], bounds[r.first+i+1])
		if err != nil {
			return err
		}
		return e.Backward(ctx, g)
	})
}

// Step implements Encoder: every replica steps at once, as their
// all-reduce needs.
func (r *Replicas) Step(ctx context.Context, req sdk.StepRequest) error {
	r.pending, r.pendingNamed = nil, nil
	return r.all(ctx, "step", func(ctx context.Context, _ int, e Encoder) error { return e.Step(ctx, req) })
}

// State implements sdk.Stateful: replica 0's state (all replicas hold the
// same parameters and optimiser state after every step).
func (r *Replicas) State(ctx context.Context) ([]byte, error) {
	b, err := r.members[0].State(ctx)
	if err != nil {
		return nil, fmt.Errorf("replica 0: state: %w", err)
	}
	return b, nil
}

// SetState implements sdk.Stateful: every replica restores b.
func (r *Replicas) SetState(ctx context.Context, b []byte) error {
	return r.all(ctx, "set state", func(ctx context.Context, _ int, e Encoder) error { return e.SetState(ctx, b) })
}

// LearningRate reports replica 0's learning rate, when its client reports
// one (the loop's train/lr).
func (r *Replicas) LearningRate() (float64, bool) {
	if lr, ok := r.members[0].(lrReporter); ok {
		return lr.LearningRate()
	}
	return 0, false
}

// output is the forward's output of the whole batch of n rows: the
// members' outputs concatenated, or, gathered, any member's (they all hold
// every rank's shard).
func (r *Replicas) output(outs []*tensor.Tensor, n int) (*tensor.Tensor, error) {
	if !r.gathered {
		return concatRows(outs)
	}
	if y := outs[0]; len(y.Shape) == 0 || y.Shape[0] != int64(n) {
		return nil, fmt.Errorf("replica %d returned %v, not the gathered outputs of %d rows", r.first, y.Shape, n)
	}
	return outs[0], nil
}

// batchRows is the number of rows of b.
func batchRows(b *sdk.Batch) int {
	switch {
	case len(b.IDs) > 0:
		return len(b.IDs)
	case b.Images != nil && len(b.Images.Shape) > 0:
		return int(b.Images.Shape[0])
	}
	return len(b.Texts)
}

// concatRows stacks ts along their first axis; they must agree in dtype
// and trailing shape.
func concatRows(ts []*tensor.Tensor) (*tensor.Tensor, error) {
	first := ts[0]
	out := &tensor.Tensor{DType: first.DType, Shape: slices.Clone(first.Shape)}
	out.Shape[0] = 0
	for i, t := range ts {
		if len(t.Shape) == 0 || t.DType != first.DType || !slices.Equal(t.Shape[1:], first.Shape[1:]) {
			return nil, fmt.Errorf("replica %d's output %s %v does not stack with replica 0's %s %v", i, t.DType, t.Shape, first.DType, first.Shape)
		}
		out.Shape[0] += t.Shape[0]
		out.Data = append(out.Data, t.Data...)
	}
	return out, nil
}
