package torchenc

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/convirt/convirt/plugins/encoders/torchenc/c10d"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// dataParallel is a replicated encoder's place among its replicas
// (docs/distributed.md). Each replica back-propagates the host's gradient
// for its own rows of the global batch, so the gradient of the global
// loss is the sum of the replicas' gradients: step sums them with c10d's
// all-reduce (not the mean DDP takes, whose replicas each average their
// own loss) before the optimiser runs, so every replica takes the step
// one encoder would take on the whole batch.
type dataParallel struct {
	cfg   sdk.Replica
	group *c10d.Group // joined at the first step
	// reducer overlaps the all-reduce with the backward (overlap.go);
	// nil with cfg.NoOverlap, or before the first backward.
	reducer *c10d.Reducer
	// reduce is the time spent joining and all-reducing after the
	// backwards (waiting for the overlapped buckets included), stats how
	// the last step's gradients were summed.
	reduce time.Duration
	stats  c10d.ReduceStats
}

// Replicate makes e replica r.Rank of r.World: from its next Step on, its
// gradients are summed over the replicas first. The replicas rendezvous
// at r.Store at their first Step.
func (e *Encoder) Replicate(r sdk.Replica) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return e.do(func() error {
		if e.dp != nil && e.dp.group != nil {
			return fmt.Errorf("replica %d of %d: already joined its replicas", e.dp.cfg.Rank, e.dp.cfg.World)
		}
		e.closeReplicas() // a reducer hooked by an earlier backward
		e.dp = &dataParallel{cfg: r}
		return nil
	})
}

// AllReduceTime is the time e has spent rendezvousing with its replicas,
// summing gradients over them and, with Gather, gathering their outputs (0
// for an encoder that is not replicated).
func (e *Encoder) AllReduceTime() time.Duration {
	return dataParallelRead(e, func(dp *dataParallel) time.Duration { return dp.reduce })
}

// dataParallelRead is read of e's place among its replicas, read on e's
// thread; the zero value for an encoder that is not replicated.
func dataParallelRead[T any](e *Encoder, read func(*dataParallel) T) T {
	var v T
	_ = e.do(func() error {
		if e.dp != nil {
			v = read(e.dp)
		}
		return nil
	})
	return v
}

// sumGrads sums the parameter gradients over the replicas, on e's thread,
// before the optimiser step; it does nothing for an encoder that is not
// replicated. With the overlap (overlap.go) it waits for the buckets its
// backward started and sums the rest; without, it all-reduces every
// gradient now, in buckets in the order of the parameters' names.
func (e *Encoder) sumGrads() error {
	if e.dp == nil || e.dp.cfg.World == 1 {
		return nil
	}
	start := time.Now()
	defer func() { e.dp.reduce += time.Since(start) }()
	if err := e.joinGroup(); err != nil {
		return err
	}
	if e.dp.reducer != nil {
		st, err := e.dp.reducer.Finish(e.dp.group)
		e.dp.stats = st
		if err != nil {
			return fmt.Errorf("sum gradients over %d replicas: %w: %w", e.dp.cfg.World, sdk.ErrCollective, err)
		}
		return nil
	}
	grads, err := e.grads()
	defer func() {
		for _, g := range grads {
			g.MustDrop()
		}
	}()
	if err != nil {
		return err
	}
	if err := e.dp.group.AllReduceTensors(grads, e.dp.bucketBytes()); err != nil {
		return fmt.Errorf("sum gradients over %d replicas: %w: %w", e.dp.cfg.World, sdk.ErrCollective, err)
	}
	return nil
}

// joinGroup joins the replicas' group, once. The replicas must start at
// the same step: replicas on several hosts restored from different
// checkpoints (each host keeps its own) are refused rather than left to
// drift apart.
func (e *Encoder) joinGroup() error {
	if e.dp.group != nil {
		return nil
	}
	g, err := joinReplicas(e.dp.cfg, fmt.Sprintf("at step %d", e.steps))
	if errors.Is(err, c10d.ErrApart) {
		return fmt.Errorf("%w; each host resumed from its newest checkpoint and these differ: resume every host from the same step (move aside the newer checkpoints of a host that is ahead)", err)
	}
	if err != nil {
		return err
	}
	e.dp.group = g
	return nil
}

// gatherOutput returns out, a forward's output of this replica's shard, or
// for a replica with Gather set the outputs of every replica's shard,
// all-gathered by c10d in rank order, so that each host computes the loss
// of the whole global batch. It runs on e's thread.
func (e *Encoder) gatherOutput(out *tensor.Tensor) (*tensor.Tensor, error) {
	if !e.gathers() {
		return out, nil
	}
	start := time.Now()
	defer func() { e.dp.reduce += time.Since(start) }()
	if err := e.joinGroup(); err != nil {
		return nil, err
	}
	v, err := out.Float32s()
	if err != nil {
		return nil, err
	}
	all, err := e.dp.group.AllGather(v)
	if err != nil {
		return nil, fmt.Errorf("gather the outputs of %d replicas: %w: %w", e.dp.cfg.World, sdk.ErrCollective, err)
	}
	shape := slices.Clone(out.Shape)
	shape[0] *= int64(e.dp.cfg.World)
	return tensor.FromFloat32(shape, all)
}

// gatherNamed replaces each of out, a ForwardNamed's outputs of this
// replica's shard, with the outputs of every replica's shard, for a
// replica with Gather set (as gatherOutput), in the order of their names.
// A ragged output (sdk.RaggedOutput: text tokens) is first padded with
// zeros along its second axis to the longest among the replicas, whose
// lengths are all-gathered; its gradient comes back at that length
// (ownGradient).
func (e *Encoder) gatherNamed(out map[string]*tensor.Tensor) error {
	if !e.gathers() {
		return nil
	}
	names := slices.Sorted(maps.Keys(out))
	for _, name := range names {
		y := out[name]
		if sdk.RaggedOutput(name) {
			if len(y.Shape) < 2 {
				return fmt.Errorf("output %q has shape %v, not [N,T,...]", name, y.Shape)
			}
			if err := e.joinGroup(); err != nil {
				return err
			}
			lens, err := e.dp.group.AllGather([]float32{float32(y.Shape[1])})
			if err != nil {
				return fmt.Errorf("gather the lengths of %q over %d replicas: %w: %w", name, e.dp.cfg.World, sdk.ErrCollective, err)
			}
			if y, err = tensor.ResizeAxis1(y, int64(slices.Max(lens))); err != nil {
				return fmt.Errorf("output %q: %w", name, err)
			}
		}
		g, err := e.gatherOutput(y)
		if err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		out[name] = g
	}
	return nil
}

// ownGradient is g, the gradient of the named output of this replica's
// shape, cut back along its second axis to that shape where gatherNamed
// padded the output for the other replicas.
func (e *Encoder) ownGradient(name string, g *tensor.Tensor, shape []int64) (*tensor.Tensor, error) {
	if !e.gathers() || !sdk.RaggedOutput(name) || len(shape) < 2 || len(g.Shape) != len(shape) || g.Shape[1] <= shape[1] {
		return g, nil
	}
	return tensor.ResizeAxis1(g, shape[1])
}

// gathers reports whether e's forwards return every replica's outputs.
func (e *Encoder) gathers() bool {
	return e.dp != nil && e.dp.cfg.Gather && e.dp.cfg.World > 1
}

// grads returns the defined gradients of the trainable variables, in the
// order of their names, the same on every replica.
func (e *Encoder) grads() ([]*ts.Tensor, error) {
	names, vars := e.trainable()
	var out []*ts.Tensor
	for i, v := range vars {
		g, err := v.Grad(false)
		if err != nil {
			return out, fmt.Errorf("gradient of %s: %w", names[i], err)
		}
		if !g.MustDefined() { // unused in the forward, on every replica alike
			g.MustDrop()
			continue
		}
		out = append(out, g)
	}
	return out, nil
}

// trainable returns the trainable variables and their names, in the order
// of their names (gotch's VarStore keeps them in a map).
func (e *Encoder) trainable() ([]string, []*ts.Tensor) {
	all := e.vs.Variables()
	names := make([]string, 0, len(all))
	for n, v := range all {
		if v.MustRequiresGrad() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	vars := make([]*ts.Tensor, len(names))
	for i, n := range names {
		v := all[n]
		vars[i] = &v
	}
	return names, vars
}

// joinReplicas joins r's c10d group, where every replica's check must be
// the same. On a loopback store gloo binds to the store's address;
// otherwise to this host's name, as torch.distributed does.
func joinReplicas(r sdk.Replica, check string) (*c10d.Group, error) {
	host, portText, err := net.SplitHostPort(r.Store)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, err
	}
	bind := ""
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		bind = host
	}
	return c10d.Join(c10d.Config{Addr: host, Port: port, Rank: r.Rank, World: r.World, Bind: bind, Timeout: r.Timeout,
		Generation: r.Generation, Check: check})
}

// closeReplicas leaves the replicas' group, if joined.
func (e *Encoder) closeReplicas() {
	if e.dp != nil && e.dp.reducer != nil {
		e.dp.reducer.Close() // its hooks hold the group
		e.dp.reducer = nil
	}
	if e.dp != nil && e.dp.group != nil {
		e.dp.group.Close()
		e.dp.group = nil
	}
}
