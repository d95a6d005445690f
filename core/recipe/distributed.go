package recipe

import (
	"fmt"
	"time"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Distributed is data-parallel pretraining (docs/distributed.md): each
// encoder plugin runs as Replicas processes, each on its shard of every
// global batch, their gradients summed by libtorch's c10d.
type Distributed struct {
	Replicas int    `yaml:"replicas" default:"1" min:"1" max:"64" doc:"Data-parallel replicas of each encoder plugin, each embedding its shard of every global batch (train.batch_size pairs in all); the loss sees the whole batch, so each pair's negatives are all the batch's other pairs whatever the number, and the replicas sum their gradients with c10d's all-reduce before every replica takes the same optimiser step. Batch-norm statistics stay per replica. With torchrun's WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set, one convirt run per node, each starting this many (docs/distributed.md). 1 on one machine: one process per encoder, as without this section."`
	Backend  string `yaml:"backend" default:"gloo" enum:"gloo|nccl" doc:"c10d backend of the replicas' all-reduce: gloo (CPU tensors). nccl is refused: this build's c10d shim has Gloo only (docs/distributed.md)."`
	Timeout  string `yaml:"timeout" default:"5m" pattern:"[0-9]+(ms|s|m|h)" doc:"How long the replicas wait for each other: at the rendezvous (a replica that never joins fails the run, naming the address and rank) and at every all-reduce."`
	// BucketMB and Overlap are DDP's bucket_cap_mb and its overlap of the
	// all-reduce with backward (sdk.Replica.BucketBytes, NoOverlap).
	BucketMB float64 `yaml:"bucket_mb" default:"25" min:"0.001" max:"4096" doc:"Cap, in MiB, of the gradient buckets all-reduced together (DDP's bucket_cap_mb; the first bucket is at most 1 MiB, as DDP's). Smaller buckets start their all-reduce earlier in the backward, larger ones make fewer calls."`
	Overlap  bool    `yaml:"overlap" default:"true" doc:"All-reduce each bucket during the backward as soon as its gradients are ready (as DDP does); false: sum all gradients after the backward, at the optimiser step. The sums are the same either way (docs/distributed.md)."`
}

// BucketBytes is d.BucketMB in bytes (0, the replicas' default, when unset).
func (d Distributed) BucketBytes() int64 { return int64(d.BucketMB * (1 << 20)) }

// TimeoutDuration is d.Timeout as a duration (5 minutes when unset).
func (d Distributed) TimeoutDuration() (time.Duration, error) {
	if d.Timeout == "" {
		return 5 * time.Minute, nil
	}
	t, err := time.ParseDuration(d.Timeout)
	if err != nil {
		return 0, fmt.Errorf("distributed.timeout %q: %w", d.Timeout, err)
	}
	return t, nil
}

// checkDistributed reports what the schema cannot say of the distributed
// section: a backend this build lacks, a zero timeout.
func checkDistributed(tree map[string]any) []schema.Issue {
	d, ok := tree["distributed"].(map[string]any)
	if !ok {
		return nil
	}
	var out []schema.Issue
	if d["backend"] == "nccl" {
		out = append(out, schema.Issue{Path: "distributed.backend", Message: "nccl is not available: convirt's c10d shim is built against Gloo only (ProcessGroupNCCL needs a CUDA libtorch and is not wired in; docs/distributed.md); use gloo"})
	}
	if s, ok := d["timeout"].(string); ok {
		if t, err := time.ParseDuration(s); err == nil && t <= 0 {
			out = append(out, schema.Issue{Path: "distributed.timeout", Message: fmt.Sprintf("%q: want a positive duration", s)})
		}
	}
	return out
}
