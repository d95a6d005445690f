package train

import (
	"context"
	"fmt"
	"time"

	"github.com/convirt/convirt/core/clock"
)

// PeerExitGrace bounds how long a replica group whose call failed waits to
// learn whether one of its replicas' processes died: a dead replica's peers
// see their collective fail (a connection reset by it) at about the moment
// its process exits, and either may be reported first.
const PeerExitGrace = 2 * time.Second

// Supervised is a replica whose process the host supervises (the clients
// of core/host): Exited is closed once the process has exited; ExitErr is
// then the error of a process that died on its own (a *host.ExitError),
// nil for one that was stopped. Replicas that are Supervised let a failed
// collective be told apart from the death of the peer that caused it.
type Supervised interface {
	Exited() <-chan struct{}
	ExitErr() error
}

// groupFault is the error of a call that failed on the replicas at first
// (err, from the replica at index first): when a replica's process died,
// waiting for it at most PeerExitGrace on r's clock, the error of that
// death, which the caller's restart of dead plugins recognises
// (core/experiment restarts every replica from the newest checkpoint),
// whichever replica's error came first; otherwise err.
func (r *Replicas) groupFault(ctx context.Context, what string, first int, err error) error {
	died := make(chan int, len(r.members))
	stop := make(chan struct{})
	defer close(stop)
	watched := 0
	for i, m := range r.members {
		s, ok := m.(Supervised)
		if !ok {
			continue
		}
		watched++
		go func() {
			select {
			case <-s.Exited():
				if s.ExitErr() != nil {
					died <- i
				}
			case <-stop:
			}
		}()
	}
	if watched == 0 {
		return err
	}
	select {
	case i := <-died:
		dead := r.members[i].(Supervised).ExitErr()
		if i == first {
			return fmt.Errorf("replica %d of %d: %s: %w", r.first+i, r.world, what, dead)
		}
		return fmt.Errorf("replica %d of %d: %s: %w (before it was seen, %v)", r.first+i, r.world, what, dead, err)
	case <-clock.Or(r.Clock).After(PeerExitGrace):
		return err
	case <-ctx.Done():
		return err
	}
}
