package torchenc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// chunkedStep is one training step of the replicas encs on b as a
// gradient cache runs it: every replica embeds its rows without a graph,
// globalGrad is taken of the whole batch, then each replica's rows are
// re-embedded in chunks chunks with a graph, each chunk's gradient rows
// back-propagated, and every replica steps at once.
func chunkedStep(t *testing.T, encs []*torchenc.Plugin, b *sdk.Batch, chunks int) {
	t.Helper()
	ctx := context.Background()
	n, share := len(b.IDs), len(b.IDs)/len(encs)
	var y []float32
	for r, e := range encs {
		y = append(y, forward(t, e, rows(t, b, r*share, (r+1)*share), "")...)
	}
	g, d := globalGrad(y, n), len(y)/n
	per := share / chunks
	for c := range chunks {
		for r, e := range encs {
			lo, hi := r*share+c*per, r*share+(c+1)*per
			if _, err := e.Forward(ctx, sdk.ForwardRequest{Batch: rows(t, b, lo, hi), Graph: true}); err != nil {
				t.Fatal(err)
			}
			slice, err := tensor.FromFloat32([]int64{int64(hi - lo), int64(d)}, g[lo*d:hi*d])
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Backward(ctx, slice); err != nil {
				t.Fatal(err)
			}
		}
	}
	var eg errgroup.Group
	for _, e := range encs {
		eg.Go(func() error { return e.Step(ctx, sdk.StepRequest{}) })
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasOverlapAllReduce: two smallcnn replicas whose buckets are
// all-reduced during the backward end with exactly the parameters of two
// that sum after it, one backward per step or a gradient cache's chunks,
// in fp32 and with fp16's loss scaler; and from the second step on, every
// step whose number of backwards is the previous step's has launched all
// its buckets before its backward returned (the overlap is on), the others
// none (their sums taken after the backwards: the first step, which
// orders the buckets, and a step whose chunk count changed, whose
// launches are stale).
func TestReplicasOverlapAllReduce(t *testing.T) {
	b := batch(t)
	cfg := map[string]any{"seed": 7, "proj_dim": 8, "threads": 1, "lr": 0.05, "optimizer": "sgd"}
	for _, c := range []struct {
		name   string
		chunks []int // backwards per step
		scale  float64
	}{
		{"one backward per step", []int{1, 1, 1}, 0},
		{"gradient cache", []int{2, 1, 2, 2, 1, 1}, 0},
		{"fp16 loss scaler", []int{1, 1, 2, 2}, 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			train := func(noOverlap bool) ([]float32, [][]int) {
				store := freeStore(t)
				encs := []*torchenc.Plugin{configured(t, cfg), configured(t, cfg)}
				for r, e := range encs {
					if c.scale > 0 {
						torchenc.UseLossScaler(e.Encoder(), c.scale)
					}
					rep := sdk.Replica{Rank: r, World: 2, Store: store, Timeout: 30 * time.Second, BucketBytes: 4096, NoOverlap: noOverlap}
					if err := e.Encoder().Replicate(rep); err != nil {
						t.Fatal(err)
					}
				}
				var stats [][]int
				for _, k := range c.chunks {
					chunkedStep(t, encs, b, k)
					st := encs[1].Encoder().ReduceStats()
					stats = append(stats, []int{st.Buckets, st.InBackward})
				}
				return forward(t, encs[0], b, ""), stats
			}
			after, _ := train(true)
			got, stats := train(false)
			if fmt.Sprint(got) != fmt.Sprint(after) {
				t.Errorf("overlapped all-reduce %v, after the backward %v", got, after)
			}
			for s, st := range stats {
				buckets, early := st[0], st[1]
				if buckets < 2 {
					t.Fatalf("step %d: %d bucket(s) of 4 KiB: want several", s+1, buckets)
				}
				want := 0
				if s > 0 && c.chunks[s] == c.chunks[s-1] {
					want = buckets
				}
				if early != want {
					t.Errorf("step %d (%v backwards per step): %d of %d buckets launched during the backward, want %d", s+1, c.chunks, early, buckets, want)
				}
			}
		})
	}
}
