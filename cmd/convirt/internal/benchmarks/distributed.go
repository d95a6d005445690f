package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// distStats is one replica count's timings in bench distributed's record.
type distStats struct {
	Replicas   int     `json:"replicas"`
	SecPerStep float64 `json:"sec_per_step"`
	SecMedian  float64 `json:"sec_per_step_median"`
	// AllReduceSecPerStep is replica 0's time per step in c10d's
	// all-reduce of its gradients after its backward returned, waiting for
	// the other replicas included: with the overlap, the wait for the
	// buckets started during the backward and the rest.
	AllReduceSecPerStep float64 `json:"allreduce_sec_per_step"`
	ItemsPerSec         float64 `json:"items_per_sec"`
	// Buckets and BucketsInBackward are the last step's buckets and how
	// many of them started during the backward (overlapped runs only).
	Buckets           int `json:"buckets,omitempty"`
	BucketsInBackward int `json:"buckets_in_backward,omitempty"`
}

// distResult is bench distributed's JSON record: the replicated step
// beside one encoder on the same global batch.
type distResult struct {
	Impl     string  `json:"impl"`
	Bench    string  `json:"bench"`
	Image    string  `json:"image"`
	Backend  string  `json:"backend"`
	Batch    int     `json:"batch"`
	Size     int     `json:"size"`
	Steps    int     `json:"steps"`
	Warmup   int     `json:"warmup"`
	Threads  int     `json:"threads_per_replica"`
	BucketMB float64 `json:"bucket_mb"`
	// distStats is the replicas with the all-reduce overlapped with the
	// backward, AfterBackward the same replicas summing after it.
	distStats
	AfterBackward distStats `json:"after_backward"`
	Single        distStats `json:"single"`
	// AllReduceRatio and StepRatio are the overlapped run's all-reduce and
	// step times over AfterBackward's.
	AllReduceRatio float64 `json:"allreduce_ratio"`
	StepRatio      float64 `json:"step_ratio"`
}

func (bs *Bench) runBenchDistributed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := imageOpts("bench distributed", stderr)
	replicas := fs.Int("replicas", 2, "data-parallel replicas of the image encoder, timed beside one")
	fs.IntVar(&o.Batch, "batch", 16, "global batch: pairs per step over all replicas")
	fs.IntVar(&o.Size, "size", 64, "image side in pixels")
	fs.IntVar(&o.Steps, "steps", 5, "timed steps of each")
	fs.IntVar(&o.Warmup, "warmup", 1, "untimed steps first (the replicas rendezvous and order their buckets in the first)")
	bucketMB := fs.Float64("bucket-mb", 25, "gradient bucket cap in MiB (DDP's bucket_cap_mb; its first bucket is at most 1 MiB)")
	fs.IntVar(&o.Seed, "seed", 1, "initialisation seed")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *replicas < 1 || o.Batch < *replicas || o.Size <= 0 || o.Steps <= 0 || o.Warmup < 1 || *bucketMB <= 0 {
		return fmt.Errorf("%w: replicas, size, steps and bucket-mb must be positive, batch at least replicas, warmup at least 1", cli.ErrUsage)
	}
	bucket := int64(*bucketMB * (1 << 20))
	if err := o.setImage(); err != nil {
		return err
	}
	o.Threads = 1 // one libtorch thread per replica, as a replica process has
	cfg, _ := encoderConfigs(o)
	batch, err := imageBatch(o)
	if err != nil {
		return err
	}
	r := distResult{Impl: "gotch", Bench: "distributed", Image: o.Image, Backend: "gloo", Batch: o.Batch, Size: o.Size, Steps: o.Steps, Warmup: o.Warmup, Threads: 1, BucketMB: *bucketMB}
	if r.Single, err = timeReplicas(ctx, o, cfg, sdk.Replica{World: 1}, batch); err != nil {
		return err
	}
	if r.AfterBackward, err = timeReplicas(ctx, o, cfg, sdk.Replica{World: *replicas, BucketBytes: bucket, NoOverlap: true}, batch); err != nil {
		return err
	}
	if r.distStats, err = timeReplicas(ctx, o, cfg, sdk.Replica{World: *replicas, BucketBytes: bucket}, batch); err != nil {
		return err
	}
	r.StepRatio = r.SecPerStep / r.AfterBackward.SecPerStep
	if r.AfterBackward.AllReduceSecPerStep > 0 {
		r.AllReduceRatio = r.AllReduceSecPerStep / r.AfterBackward.AllReduceSecPerStep
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s, global batch %d x %d px, one libtorch thread per replica, c10d %s, buckets of %g MiB\n", r.Image, r.Batch, r.Size, r.Backend, r.BucketMB)
	for _, s := range []struct {
		what string
		distStats
	}{{"", r.Single}, {", after the backward", r.AfterBackward}, {", overlapped", r.distStats}} {
		fmt.Fprintf(stdout, "  %d replica(s)%s: %.4f s/step (median %.4f), all-reduce %.4f s/step, %.1f pairs/s\n",
			s.Replicas, s.what, s.SecPerStep, s.SecMedian, s.AllReduceSecPerStep, s.ItemsPerSec)
	}
	fmt.Fprintf(stdout, "  overlapped / after the backward: all-reduce %.2f, step %.2f; %d of %d buckets started during the backward\n",
		r.AllReduceRatio, r.StepRatio, r.BucketsInBackward, r.Buckets)
	return nil
}

// timeReplicas times rep.World replicas of the image encoder in this
// process (rep gives their bucket cap and overlap), each on its own
// libtorch thread with one intra-op thread, on their shards of batch:
// forward, backward of a fixed gradient, then the step in which they sum
// gradients with c10d.
func timeReplicas(ctx context.Context, o *convirtOpts, cfg map[string]any, rep sdk.Replica, batch *sdk.Batch) (distStats, error) {
	n := rep.World
	store := ""
	if n > 1 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return distStats{}, err
		}
		store = l.Addr().String()
		l.Close()
	}
	encs := make([]*torchenc.Plugin, n)
	shards := make([]*sdk.Batch, n)
	for i := range n {
		encs[i] = image.New(o.imagePlugin)
		defer encs[i].Close()
		if err := encs[i].Configure(ctx, cfg); err != nil {
			return distStats{}, fmt.Errorf("replica %d: %w", i, err)
		}
		if n > 1 {
			rep.Rank, rep.Store, rep.Timeout = i, store, time.Minute
			if err := encs[i].Encoder().Replicate(rep); err != nil {
				return distStats{}, err
			}
		}
		lo, hi := i*o.Batch/n, (i+1)*o.Batch/n
		per := len(batch.Images.Data) / o.Batch
		shape := append([]int64{int64(hi - lo)}, batch.Images.Shape[1:]...)
		shards[i] = &sdk.Batch{IDs: batch.IDs[lo:hi], Images: &tensor.Tensor{DType: batch.Images.DType, Shape: shape, Data: batch.Images.Data[lo*per : hi*per]}}
	}
	step := func(i int) error {
		y, err := encs[i].Forward(ctx, sdk.ForwardRequest{Batch: shards[i], Train: true, Graph: true})
		if err != nil {
			return fmt.Errorf("replica %d: forward: %w", i, err)
		}
		g, err := tensor.FromFloat32(y.Shape, onesOver(int(tensor.Numel(y.Shape)), float32(o.Batch)))
		if err != nil {
			return err
		}
		if err := encs[i].Backward(ctx, g); err != nil {
			return fmt.Errorf("replica %d: backward: %w", i, err)
		}
		return encs[i].Step(ctx, sdk.StepRequest{})
	}
	steps := bench.Steps{Warmup: o.Warmup}
	var reduce0 time.Duration
	for s := range o.Warmup + o.Steps {
		if s == o.Warmup {
			reduce0 = encs[0].Encoder().AllReduceTime()
		}
		start := time.Now()
		var g errgroup.Group
		for i := range n {
			g.Go(func() error { return step(i) })
		}
		if err := g.Wait(); err != nil {
			return distStats{}, fmt.Errorf("bench distributed: %d replica(s), step %d: %w", n, s+1, err)
		}
		steps.Add(time.Since(start))
	}
	st := distStats{Replicas: n, SecPerStep: steps.Mean(), SecMedian: steps.Median(),
		AllReduceSecPerStep: (encs[0].Encoder().AllReduceTime() - reduce0).Seconds() / float64(o.Steps)}
	st.ItemsPerSec = bench.PerSec(o.Batch, st.SecPerStep)
	if !rep.NoOverlap {
		rs := encs[0].Encoder().ReduceStats()
		st.Buckets, st.BucketsInBackward = rs.Buckets, rs.InBackward
	}
	return st, nil
}
