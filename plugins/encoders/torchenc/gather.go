package torchenc

// Replicas on several hosts: every forward returns the outputs of all the
// replicas' shards, all-gathered by c10d, so that each host computes the
// loss of the whole global batch (docs/distributed.md).

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

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
// Ragged outputs (sdk.RaggedOutput: text tokens) are first padded with
// zeros along their second axis to the longest among the replicas, whose
// lengths are all-gathered, all of them in one collective; their gradients
// come back at that length (ownGradient).
func (e *Encoder) gatherNamed(out map[string]*tensor.Tensor) error {
	if !e.gathers() {
		return nil
	}
	names := slices.Sorted(maps.Keys(out))
	if err := e.padRagged(out, names); err != nil {
		return err
	}
	for _, name := range names {
		g, err := e.gatherOutput(out[name])
		if err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		out[name] = g
	}
	return nil
}

// padRagged pads each ragged output among names in out to the longest
// length any replica has for it: one all-gather of every replica's
// lengths, in the order of names.
func (e *Encoder) padRagged(out map[string]*tensor.Tensor, names []string) error {
	var ragged []string
	var lens []float32
	for _, name := range names {
		if y := out[name]; sdk.RaggedOutput(name) {
			if len(y.Shape) < 2 {
				return fmt.Errorf("output %q has shape %v, not [N,T,...]", name, y.Shape)
			}
			ragged, lens = append(ragged, name), append(lens, float32(y.Shape[1]))
		}
	}
	if len(ragged) == 0 {
		return nil
	}
	if err := e.joinGroup(); err != nil {
		return err
	}
	all, err := e.dp.group.AllGather(lens) // replica r's lengths at r*len(ragged)
	if err != nil {
		return fmt.Errorf("gather the lengths of %v over %d replicas: %w: %w", ragged, e.dp.cfg.World, sdk.ErrCollective, err)
	}
	for i, name := range ragged {
		longest := lens[i]
		for r := range e.dp.cfg.World {
			longest = max(longest, all[r*len(ragged)+i])
		}
		if out[name], err = tensor.ResizeAxis1(out[name], int64(longest)); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
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
