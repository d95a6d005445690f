package sdk

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Replica is one data-parallel replica's place among the replicas of an
// encoder plugin (docs/distributed.md): its rank of World and rank 0's
// c10d store, where the replicas rendezvous. The host starts each replica
// process with Env in its environment; a replicated encoder reads it with
// ReplicaFromEnv and sums its parameter gradients over the replicas before
// every optimiser step, so that all replicas take the same step.
type Replica struct {
	Rank, World int
	// Store is rank 0's c10d TCPStore, host:port.
	Store string
	// Timeout bounds the rendezvous and every collective.
	Timeout time.Duration
	// Gather makes every forward return the outputs of all World replicas'
	// shards, all-gathered in rank order (each shard the same size), not
	// only this replica's: replicas spread over several hosts, each host
	// computing the loss of the whole global batch.
	Gather bool
	// BucketBytes caps the gradient buckets all-reduced together (DDP's
	// bucket_cap_mb); 0 is DDP's default, 25 MiB.
	BucketBytes int64
	// NoOverlap sums the gradients after the backward, at the optimiser
	// step, instead of all-reducing each bucket during the backward as
	// soon as its gradients are ready (docs/distributed.md); the sums are
	// the same.
	NoOverlap bool
	// Generation numbers the starts of the replicas within one run: 0 at
	// first, one more at each restart after a fault. The replicas of one
	// start rendezvous only with each other, never with a replica of an
	// earlier start still waiting at the same store.
	Generation int
}

// ErrCollective is wrapped by the error of a call that failed because a
// collective among an encoder's replicas did (an all-reduce or an
// all-gather): a peer replica is gone, on this host or another. It
// travels between plugin and host as gRPC's Aborted code, so the host can
// tell it from the encoder's own failures: on several hosts it restarts
// every replica of its own, as the host whose replica died does
// (docs/distributed.md).
var ErrCollective = errors.New("a collective of the replicas failed")

// ApartError is a replica's refusal to train when the replicas start at
// different steps: hosts that each resumed from their own newest
// checkpoint, one of which missed the last (it lost a replica between the
// step's all-reduce and its checkpoint). Step is the earliest of them,
// from which every host can resume together (each keeps its last
// checkpoints, core/train), and the host restarts its plugins there. It
// crosses the wire as gRPC's FailedPrecondition with the step in the
// status's details.
type ApartError struct {
	Step int64
	Msg  string
}

func (e *ApartError) Error() string { return e.Msg }

// The environment variables that carry a Replica.
const (
	EnvReplicaRank    = "CONVIRT_REPLICA_RANK"
	EnvReplicaWorld   = "CONVIRT_REPLICA_WORLD"
	EnvReplicaStore   = "CONVIRT_REPLICA_STORE"
	EnvReplicaTimeout = "CONVIRT_REPLICA_TIMEOUT"
	EnvReplicaGather  = "CONVIRT_REPLICA_GATHER"
	// EnvReplicaBucketBytes and EnvReplicaNoOverlap may be unset (0 and
	// false).
	EnvReplicaBucketBytes = "CONVIRT_REPLICA_BUCKET_BYTES"
	EnvReplicaNoOverlap   = "CONVIRT_REPLICA_NO_OVERLAP"
	// EnvReplicaGeneration may be unset (0).
	EnvReplicaGeneration = "CONVIRT_REPLICA_GENERATION"
)

// Env is r as environment entries (NAME=value).
func (r Replica) Env() []string {
	return []string{
		EnvReplicaRank + "=" + strconv.Itoa(r.Rank),
		EnvReplicaWorld + "=" + strconv.Itoa(r.World),
		EnvReplicaStore + "=" + r.Store,
		EnvReplicaTimeout + "=" + r.Timeout.String(),
		EnvReplicaGather + "=" + strconv.FormatBool(r.Gather),
		EnvReplicaBucketBytes + "=" + strconv.FormatInt(r.BucketBytes, 10),
		EnvReplicaNoOverlap + "=" + strconv.FormatBool(r.NoOverlap),
		EnvReplicaGeneration + "=" + strconv.Itoa(r.Generation),
	}
}

// Validate says what is wrong with r, if anything.
func (r Replica) Validate() error {
	if r.World < 1 || r.Rank < 0 || r.Rank >= r.World {
		return fmt.Errorf("replica rank %d of %d: want 0 <= rank < world", r.Rank, r.World)
	}
	if _, port, err := net.SplitHostPort(r.Store); err != nil {
		return fmt.Errorf("replica store %q: want host:port: %w", r.Store, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("replica store %q: port %q: %w", r.Store, port, err)
	}
	if r.Timeout <= 0 {
		return fmt.Errorf("replica timeout %v: want a positive duration", r.Timeout)
	}
	if r.Generation < 0 {
		return fmt.Errorf("replica generation %d: want 0 or more", r.Generation)
	}
	if r.BucketBytes < 0 {
		return fmt.Errorf("replica bucket size %d bytes: want 0 (the default) or more", r.BucketBytes)
	}
	return nil
}

// ReplicaFromEnv reads a Replica through getenv (os.Getenv); ok is false
// when EnvReplicaWorld is unset (the process is not a replica). A variable
// that is set but malformed is an error naming it.
func ReplicaFromEnv(getenv func(string) string) (r Replica, ok bool, err error) {
	if getenv(EnvReplicaWorld) == "" {
		return Replica{}, false, nil
	}
	if r.World, err = strconv.Atoi(getenv(EnvReplicaWorld)); err != nil {
		return r, false, fmt.Errorf("%s: %w", EnvReplicaWorld, err)
	}
	if r.Rank, err = strconv.Atoi(getenv(EnvReplicaRank)); err != nil {
		return r, false, fmt.Errorf("%s: %w", EnvReplicaRank, err)
	}
	r.Store = getenv(EnvReplicaStore)
	if r.Timeout, err = time.ParseDuration(getenv(EnvReplicaTimeout)); err != nil {
		return r, false, fmt.Errorf("%s: %w", EnvReplicaTimeout, err)
	}
	if g := getenv(EnvReplicaGather); g != "" {
		if r.Gather, err = strconv.ParseBool(g); err != nil {
			return r, false, fmt.Errorf("%s: %w", EnvReplicaGather, err)
		}
	}
	if b := getenv(EnvReplicaBucketBytes); b != "" {
		if r.BucketBytes, err = strconv.ParseInt(b, 10, 64); err != nil {
			return r, false, fmt.Errorf("%s: %w", EnvReplicaBucketBytes, err)
		}
	}
	if o := getenv(EnvReplicaNoOverlap); o != "" {
		if r.NoOverlap, err = strconv.ParseBool(o); err != nil {
			return r, false, fmt.Errorf("%s: %w", EnvReplicaNoOverlap, err)
		}
	}
	if g := getenv(EnvReplicaGeneration); g != "" {
		if r.Generation, err = strconv.Atoi(g); err != nil {
			return r, false, fmt.Errorf("%s: %w", EnvReplicaGeneration, err)
		}
	}
	return r, true, r.Validate()
}
