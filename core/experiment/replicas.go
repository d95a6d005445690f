package experiment

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/train"
)

// A replica's death must restart the run even when its peers' failed
// collectives are reported first: train.Replicas tells them apart through
// the host's supervision of each replica's process.
var _ train.Supervised = (*host.Encoder)(nil)

// nodes is where this `convirt run` stands among the runs of one
// pretraining on several hosts, from torchrun's environment variables
// (docs/distributed.md): WORLD_SIZE runs (one per node), this one RANK,
// rank 0's address MASTER_ADDR:MASTER_PORT.
type nodes struct {
	world, rank int
	addr        string
	port        int
}

// nodesFromEnv reads torchrun's variables through getenv; without
// WORLD_SIZE, or with WORLD_SIZE 1, the run is the only one (world 1).
func nodesFromEnv(getenv func(string) string) (nodes, error) {
	n := nodes{world: 1}
	if getenv("WORLD_SIZE") == "" {
		return n, nil
	}
	var err error
	if n.world, err = strconv.Atoi(getenv("WORLD_SIZE")); err != nil || n.world < 1 {
		return n, fmt.Errorf("WORLD_SIZE %q: want a positive number of convirt runs (one per node)", getenv("WORLD_SIZE"))
	}
	if n.world == 1 {
		return n, nil
	}
	if n.rank, err = strconv.Atoi(getenv("RANK")); err != nil || n.rank < 0 || n.rank >= n.world {
		return n, fmt.Errorf("RANK %q: want 0 to %d (WORLD_SIZE %d)", getenv("RANK"), n.world-1, n.world)
	}
	if lr := getenv("LOCAL_RANK"); lr != "" && lr != "0" {
		return n, fmt.Errorf("LOCAL_RANK %s: start one convirt run per node (it starts distributed.replicas replicas itself)", lr)
	}
	if n.addr = getenv("MASTER_ADDR"); n.addr == "" {
		return n, fmt.Errorf("MASTER_ADDR is unset: rank 0's host name (WORLD_SIZE %d)", n.world)
	}
	if n.port, err = strconv.Atoi(getenv("MASTER_PORT")); err != nil || n.port < 1 || n.port > 65534 {
		return n, fmt.Errorf("MASTER_PORT %q: want a port (it and the next one are used)", getenv("MASTER_PORT"))
	}
	return n, nil
}

// evaluationsElsewhere reports whether this run pretrained as a node other
// than rank 0 of several (WORLD_SIZE above 1): the recipe's evaluations
// are then rank 0's run's alone, as torchrun's jobs evaluate and report on
// rank 0, on global replica 0's state (the state its checkpoints hold),
// instead of every node repeating them on its own replicas' batch-norm
// statistics.
func (s *session) evaluationsElsewhere() bool {
	return s.r.Data.Pretrain != nil && s.nodes.world > 1 && s.nodes.rank > 0
}

// startEncoder starts the encoder plugin name for pretraining: one
// process, or with distributed.replicas above 1 or several nodes
// (WORLD_SIZE) this host's data-parallel replicas, served together as one
// train.Replicas (docs/distributed.md). role numbers the encoder (0 image,
// 1 text): across nodes its replicas rendezvous at MASTER_PORT+role. What it
// starts goes on p.open.
func (s *session) startEncoder(ctx context.Context, p *pretrainParts, role int, name string, cfg map[string]any) (train.Encoder, error) {
	d := s.r.Distributed
	if s.nodesErr != nil {
		return nil, s.nodesErr
	}
	nd := s.nodes
	nd.world = max(nd.world, 1) // a session's zero nodes is one host
	local := max(d.Replicas, 1)
	if local == 1 && nd.world == 1 {
		e, err := s.opt.Launcher.Encoder(ctx, name, cfg)
		if err != nil {
			return nil, err
		}
		p.open = append(p.open, e)
		return e, nil
	}
	timeout, err := d.TimeoutDuration()
	if err != nil {
		return nil, err
	}
	plan := launch.ReplicaPlan{First: nd.rank * local, Local: local, World: nd.world * local, Timeout: timeout,
		BucketBytes: d.BucketBytes(), NoOverlap: !d.Overlap, Generation: s.generation}
	if nd.world > 1 {
		plan.Store, plan.Gather = net.JoinHostPort(nd.addr, strconv.Itoa(nd.port+role)), true
	}
	members, err := s.opt.Launcher.EncoderReplicas(ctx, name, cfg, plan)
	if err != nil {
		return nil, err
	}
	encs := make([]train.Encoder, len(members))
	for i, m := range members {
		p.open = append(p.open, m)
		encs[i] = m
	}
	var r *train.Replicas
	if nd.world > 1 {
		r, err = train.NewHostReplicas(encs, plan.First, plan.World)
	} else {
		r, err = train.NewReplicas(encs)
	}
	if err != nil {
		return nil, fmt.Errorf("%d replicas: %w", plan.World, err)
	}
	when := fmt.Sprintf("during the backward, in buckets of up to %g MiB", d.BucketMB)
	if !d.Overlap {
		when = "after the backward"
	}
	fmt.Fprintf(s.log, "encoder %s: %d data-parallel replicas (ranks %d to %d of %d), gradients summed by c10d %s %s\n", name, local, plan.First, plan.First+local-1, plan.World, d.Backend, when)
	return r, nil
}
