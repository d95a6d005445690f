package train

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// namedShards is one Graph ForwardNamed of the replicas awaiting its
// BackwardNamed: the shard bounds and, per output name, each member's
// output shape (nil when the members gathered their outputs: each cuts its
// gradients back itself) and the concatenated (padded) shape the loss saw.
type namedShards struct {
	bounds []int
	member []map[string][]int64
	global map[string][]int64
}

// ForwardNamed implements sdk.NamedEncoder: each replica returns the
// named outputs of its shard (the shards of Forward). On one host each
// output is concatenated along its first (batch) axis in rank order, ragged
// ones (sdk.RaggedOutput: text tokens) of replicas that padded their shards
// to different lengths padded with zeros to the longest. On several hosts
// every replica returns the outputs of all shards, all-gathered and padded
// alike by the replicas (sdk.Replica.Gather), and any one's are the batch's.
func (r *Replicas) ForwardNamed(ctx context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	if req.Batch == nil {
		return nil, errors.New("replicas: forward: no batch")
	}
	bounds, err := r.bounds(batchRows(req.Batch))
	if err != nil {
		return nil, err
	}
	outs := make([]map[string]*tensor.Tensor, len(r.members))
	err = r.eachShard(ctx, fmt.Sprintf("forward %v", req.Outputs), req, bounds, func(ctx context.Context, i int, e Encoder, sreq sdk.ForwardRequest) (err error) {
		ne, ok := e.(sdk.NamedEncoder)
		if !ok {
			return errors.New("it serves no named outputs")
		}
		outs[i], err = ne.ForwardNamed(ctx, sreq)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.gathered {
		ys, sh, err := r.gatheredNamed(outs, bounds)
		if err != nil {
			return nil, fmt.Errorf("replicas: forward %v: %w", req.Outputs, err)
		}
		if req.Graph {
			r.pendingNamed = append(r.pendingNamed, sh)
		}
		return ys, nil
	}
	ys, sh, err := concatNamed(outs, bounds)
	if err != nil {
		return nil, fmt.Errorf("replicas: forward %v: %w", req.Outputs, err)
	}
	if req.Graph {
		r.pendingNamed = append(r.pendingNamed, sh)
	}
	return ys, nil
}

// BackwardNamed implements sdk.NamedEncoder: each replica back-propagates,
// through its oldest pending Graph ForwardNamed, the rows of each named
// gradient that belong to its shard, cut back to its own output's length
// where ForwardNamed padded it (on several hosts the replica, which padded
// its output, cuts it). An output without a gradient (no entry, or a nil
// one) sends none.
func (r *Replicas) BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error {
	if len(r.pendingNamed) == 0 {
		return errors.New("replicas: backward: no named forward with graph is pending")
	}
	sh := r.pendingNamed[0]
	r.pendingNamed = r.pendingNamed[1:]
	names := make([]string, 0, len(grads))
	for name, g := range grads {
		if g == nil {
			continue
		}
		want, ok := sh.global[name]
		if !ok {
			return fmt.Errorf("replicas: backward: gradient for %q, which the forward did not output", name)
		}
		if !slices.Equal(g.Shape, want) {
			return fmt.Errorf("replicas: backward: gradient of %q has shape %v, output shape %v", name, g.Shape, want)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return r.all(ctx, "backward", func(ctx context.Context, i int, e Encoder) error {
		ne, ok := e.(sdk.NamedEncoder)
		if !ok {
			return errors.New("it serves no named outputs")
		}
		part := make(map[string]*tensor.Tensor, len(names))
		for _, name := range names {
			g, err := sliceRows(grads[name], sh.bounds[r.first+i], sh.bounds[r.first+i+1])
			if err != nil {
				return fmt.Errorf("gradient of %q: %w", name, err)
			}
			if sh.member == nil { // gathered: the replica cuts it back
				part[name] = g
				continue
			}
			if part[name], err = cropAxis1(g, sh.member[i][name]); err != nil {
				return fmt.Errorf("gradient of %q: %w", name, err)
			}
		}
		return ne.BackwardNamed(ctx, part)
	})
}

// concatNamed concatenates the members' named outputs (outs[i] of the rows
// bounds[i] to bounds[i+1]) along the batch axis, padding token outputs to
// the longest, and returns them with the shapes BackwardNamed needs.
func concatNamed(outs []map[string]*tensor.Tensor, bounds []int) (map[string]*tensor.Tensor, namedShards, error) {
	sh := namedShards{bounds: bounds, global: map[string][]int64{}}
	for i, out := range outs {
		if len(out) != len(outs[0]) {
			return nil, sh, fmt.Errorf("replica %d returned %d outputs, replica 0 %d", i, len(out), len(outs[0]))
		}
		m := map[string][]int64{}
		for name, y := range out {
			if y == nil || len(y.Shape) == 0 || y.Shape[0] != int64(bounds[i+1]-bounds[i]) {
				var shape []int64
				if y != nil {
					shape = y.Shape
				}
				return nil, sh, fmt.Errorf("replica %d's output %q has shape %v: not batch-first (its first axis is not its shard's %d rows), so it cannot be concatenated over the replicas", i, name, shape, bounds[i+1]-bounds[i])
			}
			m[name] = y.Shape
		}
		sh.member = append(sh.member, m)
	}
	ys := make(map[string]*tensor.Tensor, len(outs[0]))
	for name := range outs[0] {
		parts := make([]*tensor.Tensor, len(outs))
		for i, out := range outs {
			if parts[i] = out[name]; parts[i] == nil {
				return nil, sh, fmt.Errorf("replica %d did not return output %q", i, name)
			}
		}
		if sdk.RaggedOutput(name) {
			var err error
			if parts, err = padAxis1(parts); err != nil {
				return nil, sh, fmt.Errorf("output %q: %w", name, err)
			}
		}
		y, err := concatRows(parts)
		if err != nil {
			return nil, sh, fmt.Errorf("output %q: %w", name, err)
		}
		ys[name], sh.global[name] = y, y.Shape
	}
	return ys, sh, nil
}

// padAxis1 pads each of ts with zeros along its second axis to the
// longest of them; those of at least two axes only.
func padAxis1(ts []*tensor.Tensor) ([]*tensor.Tensor, error) {
	longest := int64(0)
	for i, t := range ts {
		if len(t.Shape) < 2 {
			return nil, fmt.Errorf("replica %d's output has shape %v, not [N,T,...]", i, t.Shape)
		}
		longest = max(longest, t.Shape[1])
	}
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = tensor.ResizeAxis1(t, longest); err != nil {
			return nil, fmt.Errorf("replica %d's output: %w", i, err)
		}
	}
	return out, nil
}

// cropAxis1 returns g cut along its second axis to the length of shape
// (the member's own output), g itself when they agree.
func cropAxis1(g *tensor.Tensor, shape []int64) (*tensor.Tensor, error) {
	if slices.Equal(g.Shape, shape) {
		return g, nil
	}
	if len(shape) < 2 || len(g.Shape) != len(shape) || g.Shape[0] != shape[0] || g.Shape[1] < shape[1] || !slices.Equal(g.Shape[2:], shape[2:]) {
		return nil, fmt.Errorf("shape %v does not cut to the replica's output shape %v", g.Shape, shape)
	}
	return tensor.ResizeAxis1(g, shape[1])
}

// gatheredNamed is the named outputs of the whole batch of replicas on
// several hosts, whose members each returned every shard's (bounds' last
// is the batch's rows): any member's, all members' alike in names and
// shapes, batch-first.
func (r *Replicas) gatheredNamed(outs []map[string]*tensor.Tensor, bounds []int) (map[string]*tensor.Tensor, namedShards, error) {
	n := int64(bounds[len(bounds)-1])
	sh := namedShards{bounds: bounds, global: map[string][]int64{}}
	for name, y := range outs[0] {
		if y == nil || len(y.Shape) == 0 || y.Shape[0] != n {
			var shape []int64
			if y != nil {
				shape = y.Shape
			}
			return nil, sh, fmt.Errorf("replica %d's output %q has shape %v, not the gathered outputs of %d rows", r.first, name, shape, n)
		}
		for i, out := range outs[1:] {
			if o := out[name]; o == nil || !slices.Equal(o.Shape, y.Shape) || len(out) != len(outs[0]) {
				return nil, sh, fmt.Errorf("replica %d's outputs differ from replica %d's gathered ones (output %q)", r.first+i+1, r.first, name)
			}
		}
		sh.global[name] = y.Shape
	}
	return outs[0], sh, nil
}

var _ sdk.NamedEncoder = (*Replicas)(nil)
