package launch

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
)

// ReplicaPlan places this host's data-parallel replicas of an encoder among
// all of its replicas (docs/distributed.md).
type ReplicaPlan struct {
	// Store is rank 0's c10d store, host:port; "" picks a loopback port
	// (every replica on this host).
	Store string
	// First is the global rank of this host's first replica, Local how
	// many this host starts, World how many there are on all hosts.
	First, Local, World int
	// Gather has each replica return every replica's outputs
	// (sdk.Replica.Gather): replicas spread over several hosts.
	Gather bool
	// Timeout bounds the rendezvous and every collective.
	Timeout time.Duration
	// BucketBytes and NoOverlap are the replicas' gradient buckets and
	// whether they all-reduce after the backward instead of during it
	// (sdk.Replica).
	BucketBytes int64
	NoOverlap   bool
	// Generation is the replicas' start within the run
	// (sdk.Replica.Generation).
	Generation int
}

// EncoderReplicas starts this host's replicas of the encoder plugin name as
// plan places them, each configured with cfg and told its place
// (sdk.Replica) through its environment; they rendezvous at their first
// call that needs the others. On an error the replicas already started are
// closed.
func (l *Launcher) EncoderReplicas(ctx context.Context, name string, cfg map[string]any, plan ReplicaPlan) ([]*host.Encoder, error) {
	if plan.Local < 1 || plan.First < 0 || plan.First+plan.Local > plan.World {
		return nil, fmt.Errorf("encoder %q replicas: %d from global rank %d do not fit %d in all", name, plan.Local, plan.First, plan.World)
	}
	if plan.Store == "" {
		store, err := loopbackStore()
		if err != nil {
			return nil, fmt.Errorf("encoder %q replicas: %w", name, err)
		}
		plan.Store = store
	}
	var out []*host.Encoder
	for i := range plan.Local {
		rep := sdk.Replica{Rank: plan.First + i, World: plan.World, Store: plan.Store, Timeout: plan.Timeout, Gather: plan.Gather,
			BucketBytes: plan.BucketBytes, NoOverlap: plan.NoOverlap, Generation: plan.Generation}
		e, err := start(ctx, l, name, sdk.KindEncoder, cfg, func(ctx context.Context, spec host.Spec) (*host.Encoder, error) {
			spec.Env = append(slices.Clone(spec.Env), rep.Env()...)
			return host.StartEncoder(ctx, spec)
		})
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("replica %d of %d: %w", rep.Rank, rep.World, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// loopbackStore returns a loopback address for rank 0's store: a port the
// kernel had free a moment ago. Should another process take it before rank
// 0 listens, the replicas' first step fails with an error naming the
// address.
func loopbackStore() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a port for the replicas' store: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
