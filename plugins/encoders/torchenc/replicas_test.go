package torchenc_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// freeStore returns a loopback host:port nobody listens on now, for rank
// 0's c10d store.
func freeStore(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rows returns rows [lo, hi) of b (its images or its texts) as a batch.
func rows(t *testing.T, b *sdk.Batch, lo, hi int) *sdk.Batch {
	t.Helper()
	if b.Images == nil {
		return &sdk.Batch{IDs: b.IDs[lo:hi], Texts: b.Texts[lo:hi]}
	}
	px, err := b.Images.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	shape := append([]int64{int64(hi - lo)}, b.Images.Shape[1:]...)
	per := int(tensor.Numel(b.Images.Shape[1:]))
	img, err := tensor.FromFloat32(shape, px[lo*per:hi*per])
	if err != nil {
		t.Fatal(err)
	}
	return &sdk.Batch{IDs: b.IDs[lo:hi], Images: img}
}

// globalGrad is the gradient the test's loss sends back for the whole
// batch's outputs y (n rows of d): each row minus the mean of all rows, so
// that every row's gradient depends on the others, as a contrastive loss's
// does.
func globalGrad(y []float32, n int) []float32 {
	d := len(y) / n
	g := make([]float32, len(y))
	for j := 0; j < d; j++ {
		var mean float32
		for i := 0; i < n; i++ {
			mean += y[i*d+j]
		}
		mean /= float32(n)
		for i := 0; i < n; i++ {
			g[i*d+j] = y[i*d+j] - mean
		}
	}
	return g
}

// trainReplicas trains the replicas encs (each replica's rows an equal
// share of b, in rank order) for k steps of globalGrad, the forwards in
// eval mode (running batch-norm statistics, no dropout), and returns the
// first replica's projections of the whole batch afterwards.
func trainReplicas(t *testing.T, encs []*torchenc.Plugin, b *sdk.Batch, k int) []float32 {
	t.Helper()
	ctx := context.Background()
	n, share := len(b.IDs), len(b.IDs)/len(encs)
	for range k {
		var y []float32
		for r, e := range encs {
			out, err := e.Forward(ctx, sdk.ForwardRequest{Batch: rows(t, b, r*share, (r+1)*share), Graph: true})
			if err != nil {
				t.Fatal(err)
			}
			v, err := out.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			y = append(y, v...)
		}
		g, d := globalGrad(y, n), len(y)/n
		var eg errgroup.Group
		for r, e := range encs {
			slice, err := tensor.FromFloat32([]int64{int64(share), int64(d)}, g[r*share*d:(r+1)*share*d])
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Backward(ctx, slice); err != nil {
				t.Fatal(err)
			}
			eg.Go(func() error { return e.Step(ctx, sdk.StepRequest{}) }) // every replica steps at once: they all-reduce together
		}
		if err := eg.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	return forward(t, encs[0], b, "")
}

// TestReplicasMatchOneEncoder: two replicas, each back-propagating its
// half of the global batch's gradient and summing gradients through c10d,
// end k steps with the parameters of one encoder trained on the whole
// batch, to 1e-5 relative; the replicas agree with each other bit for bit.
// The encoders are the small CNN (its batch-norm on running statistics:
// the forwards are in eval mode, as it has no switch to turn batch-norm
// off) and tiny BERT (eval mode: no dropout, whose masks differ per
// replica as in DDP). The optimiser is SGD with momentum: the sums differ
// from one backward's in the last bits, and Adam's first steps (about lr
// times the gradient's sign) turn a component that is zero up to rounding
// into a whole step.
func TestReplicasMatchOneEncoder(t *testing.T) {
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."}, strings.Fields("no acute left pleural effusion heart enlarged")...)
	vocabPath := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(vocabPath, []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	texts := &sdk.Batch{IDs: []string{"a", "b", "c", "d"}, Texts: []string{"no acute effusion.", "left pleural effusion.", "heart enlarged.", "no."}}
	for _, c := range []struct {
		name string
		new  func() *torchenc.Plugin
		cfg  map[string]any
		b    *sdk.Batch
	}{
		{"smallcnn", func() *torchenc.Plugin { return image.New(image.SmallCNN) }, map[string]any{}, batch(t)},
		{"tiny bert", text.New, map[string]any{"vocab": vocabPath, "size": "tiny", "hidden": 16, "heads": 2, "layers": 1, "pooling": "max"}, texts},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]any{"seed": 5, "proj_dim": 8, "threads": 1, "lr": 0.05, "optimizer": "sgd"}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			mk := func() *torchenc.Plugin {
				p := c.new()
				t.Cleanup(func() { p.Close() })
				if err := p.Configure(context.Background(), cfg); err != nil {
					t.Fatal(err)
				}
				return p
			}
			const k = 3
			want := trainReplicas(t, []*torchenc.Plugin{mk()}, c.b, k)
			store := freeStore(t)
			encs := []*torchenc.Plugin{mk(), mk()}
			for r, e := range encs {
				if err := e.Encoder().Replicate(sdk.Replica{Rank: r, World: 2, Store: store, Timeout: 30 * time.Second}); err != nil {
					t.Fatal(err)
				}
			}
			got := trainReplicas(t, encs, c.b, k)
			other := forward(t, encs[1], c.b, "")
			var worst float64
			for i := range want {
				if got[i] != other[i] {
					t.Fatalf("replicas disagree at %d: %v vs %v", i, got[i], other[i])
				}
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i]))/math.Max(math.Abs(float64(want[i])), 1e-3))
			}
			if worst > 1e-5 {
				t.Errorf("after %d steps two replicas differ from one encoder by %.3g relative (want <= 1e-5)", k, worst)
			}
			if before := forward(t, mk(), c.b, ""); fmt.Sprint(before) == fmt.Sprint(want) {
				t.Fatal("training changed nothing: the comparison would be empty")
			}
			if encs[0].Encoder().AllReduceTime() <= 0 {
				t.Error("no all-reduce time recorded")
			}
		})
	}
}

// TestOneReplicaIsTheOldPath: with batch-norm in training mode, an encoder
// made replica 0 of 1 trains bit for bit as one that is not replicated.
func TestOneReplicaIsTheOldPath(t *testing.T) {
	ctx := context.Background()
	cfg := map[string]any{"seed": 6, "proj_dim": 8, "threads": 1}
	b := batch(t)
	plain, one := configured(t, cfg), configured(t, cfg)
	if err := one.Encoder().Replicate(sdk.Replica{Rank: 0, World: 1, Store: "127.0.0.1:1", Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*torchenc.Plugin{plain, one} {
		for range 2 {
			y, err := e.Forward(ctx, sdk.ForwardRequest{Batch: b, Train: true, Graph: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Backward(ctx, y); err != nil {
				t.Fatal(err)
			}
			if err := e.Step(ctx, sdk.StepRequest{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a, c := forward(t, plain, b, ""), forward(t, one, b, ""); fmt.Sprint(a) != fmt.Sprint(c) {
		t.Errorf("one replica %v, old path %v", c, a)
	}
}

// TestConfigureReadsReplicaEnv: a plugin process started as a replica with
// a malformed environment fails Configure naming the variable.
func TestConfigureReadsReplicaEnv(t *testing.T) {
	t.Setenv(sdk.EnvReplicaWorld, "2")
	t.Setenv(sdk.EnvReplicaRank, "0")
	t.Setenv(sdk.EnvReplicaStore, "127.0.0.1:1")
	t.Setenv(sdk.EnvReplicaTimeout, "never")
	p := image.New(image.SmallCNN)
	defer p.Close()
	err := p.Configure(context.Background(), map[string]any{"seed": 1, "proj_dim": 8})
	if err == nil || !strings.Contains(err.Error(), sdk.EnvReplicaTimeout) {
		t.Errorf("got %v, want an error naming %s", err, sdk.EnvReplicaTimeout)
	}
}

// TestGatherReturnsEveryShard: replicas with Gather (spread over hosts)
// each return the outputs of every replica's shard, in rank order, the
// same as one encoder's of the whole batch.
func TestGatherReturnsEveryShard(t *testing.T) {
	ctx := context.Background()
	cfg := map[string]any{"seed": 4, "proj_dim": 8, "threads": 1}
	b := batch(t)
	want := forward(t, configured(t, cfg), b, "")
	store := freeStore(t)
	encs := []*torchenc.Plugin{configured(t, cfg), configured(t, cfg)}
	for r, e := range encs {
		if err := e.Encoder().Replicate(sdk.Replica{Rank: r, World: 2, Store: store, Timeout: 30 * time.Second, Gather: true}); err != nil {
			t.Fatal(err)
		}
	}
	got := make([][]float32, 2)
	shards := []*sdk.Batch{rows(t, b, 0, 2), rows(t, b, 2, 4)}
	var eg errgroup.Group
	for r, e := range encs {
		eg.Go(func() error {
			y, err := e.Forward(ctx, sdk.ForwardRequest{Batch: shards[r]})
			if err != nil {
				return err
			}
			if y.Shape[0] != 4 {
				return fmt.Errorf("replica %d: output rows %d, want the global batch's 4", r, y.Shape[0])
			}
			got[r], err = y.Float32s()
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	for r := range got {
		for i := range want {
			if d := math.Abs(float64(got[r][i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("replica %d, value %d: %v, one encoder %v", r, i, got[r][i], want[i])
			}
		}
	}
}
