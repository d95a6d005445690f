package torchenc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/convirt/convirt/plugins/encoders/torchenc/c10d"
	"github.com/convirt/convirt/plugins/sdk"
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
// checkpoints (each host keeps its own) fail with an *sdk.ApartError
// rather than drift apart, and their hosts resume together at the
// earliest.
func (e *Encoder) joinGroup() error {
	if e.dp.group != nil {
		return nil
	}
	g, err := joinReplicas(e.dp.cfg, stepCheck+strconv.FormatInt(e.steps, 10))
	if err != nil {
		return joinError(err)
	}
	e.dp.group = g
	return nil
}

// joinError is the replica's error for c10d.Join's err: replicas that
// start apart are an *sdk.ApartError, a peer lost once the group formed
// is a failed collective (sdk.ErrCollective: on several hosts the host
// restarts, as the lost peer's does), anything else a plain error.
func joinError(err error) error {
	var apart *c10d.ApartError
	switch {
	case errors.As(err, &apart):
		return apartSteps(err, apart.Checks)
	case errors.Is(err, c10d.ErrPeerLost):
		return fmt.Errorf("%w: %w", sdk.ErrCollective, err)
	}
	return err
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

// stepCheck prefixes the step a replica starts at, its c10d.Config.Check.
const stepCheck = "step "

// apartSteps is the error of replicas that start at the steps checks
// (err, c10d's refusal): an *sdk.ApartError at the earliest step, where
// the host restarts every replica of its own, as the other hosts do.
func apartSteps(err error, checks []string) error {
	earliest := int64(-1)
	for _, c := range checks {
		n, perr := strconv.ParseInt(strings.TrimPrefix(c, stepCheck), 10, 64)
		if perr != nil || !strings.HasPrefix(c, stepCheck) {
			return fmt.Errorf("%w (a rank's step %q does not read as one)", err, c)
		}
		if earliest < 0 || n < earliest {
			earliest = n
		}
	}
	return &sdk.ApartError{Step: earliest, Msg: fmt.Sprintf("%v; the hosts resumed from different checkpoints: every host resumes at step %d, the earliest", err, earliest)}
}

// joinReplicas joins r's c10d group, where every replica's check must be
// the same. gloo binds to GLOO_SOCKET_IFNAME's interfaces when it is set;
// otherwise on a loopback store to the store's address, and elsewhere to
// this host's name, as torch.distributed does.
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
		Interfaces: glooInterfaces(os.Getenv), Generation: r.Generation, Check: check})
}

// glooInterfaces is GLOO_SOCKET_IFNAME's comma-separated list of network
// interfaces, read through getenv: torch.distributed's way to say which
// network gloo uses on a host with several (docs/distributed.md).
func glooInterfaces(getenv func(string) string) []string {
	var out []string
	for _, name := range strings.Split(getenv("GLOO_SOCKET_IFNAME"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
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
