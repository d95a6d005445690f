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

// EncoderReplicas starts n data-parallel replicas of the encoder plugin
// name on this host, each configured with cfg and told its rank, the
// number of replicas and rank 0's c10d store on loopback through its
// environment (sdk.Replica); they rendezvous at their first step and wait
// for each other at most timeout (docs/distributed.md). On an error the
// replicas already started are closed.
func (l *Launcher) EncoderReplicas(ctx context.Context, name string, cfg map[string]any, n int, timeout time.Duration) ([]*host.Encoder, error) {
	store, err := loopbackStore()
	if err != nil {
		return nil, fmt.Errorf("encoder %q replicas: %w", name, err)
	}
	var out []*host.Encoder
	for i := range n {
		rep := sdk.Replica{Rank: i, World: n, Store: store, Timeout: timeout}
		e, err := start(ctx, l, name, sdk.KindEncoder, cfg, func(ctx context.Context, spec host.Spec) (*host.Encoder, error) {
			spec.Env = append(slices.Clone(spec.Env), rep.Env()...)
			return host.StartEncoder(ctx, spec)
		})
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("replica %d of %d: %w", i, n, err)
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
