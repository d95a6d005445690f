package train

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// replicaFake is one replica: its output row for an ID "pN" is [N, -N];
// it records the IDs and gradients it was sent, and its Step waits at
// barrier for every replica's, as c10d's all-reduce does.
type replicaFake struct {
	rank    int
	ids     []string
	grads   []float32
	state   []byte
	barrier *sync.WaitGroup
	failing bool
}

func (f *replicaFake) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	f.ids = append(f.ids, req.Batch.IDs...)
	var v []float32
	for _, id := range req.Batch.IDs {
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "p"))
		v = append(v, float32(n), -float32(n))
	}
	return tensor.FromFloat32([]int64{int64(len(req.Batch.IDs)), 2}, v)
}

func (f *replicaFake) Backward(_ context.Context, g *tensor.Tensor) error {
	v, err := g.Float32s()
	f.grads = append(f.grads, v...)
	return err
}

func (f *replicaFake) Step(ctx context.Context, _ sdk.StepRequest) error {
	if f.failing {
		return errors.New("plugin process exited")
	}
	f.barrier.Done()
	done := make(chan struct{})
	go func() { f.barrier.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *replicaFake) State(context.Context) ([]byte, error) {
	return []byte("state of " + strconv.Itoa(f.rank)), nil
}

func (f *replicaFake) SetState(_ context.Context, b []byte) error { f.state = b; return nil }

func newReplicaFakes(t *testing.T, n int) (*Replicas, []*replicaFake) {
	t.Helper()
	var barrier sync.WaitGroup
	barrier.Add(n)
	fakes := make([]*replicaFake, n)
	members := make([]Encoder, n)
	for i := range fakes {
		fakes[i] = &replicaFake{rank: i, barrier: &barrier}
		members[i] = fakes[i]
	}
	r, err := NewReplicas(members)
	if err != nil {
		t.Fatal(err)
	}
	return r, fakes
}

func idBatch(n int) *sdk.Batch {
	b := &sdk.Batch{}
	for i := range n {
		b.IDs = append(b.IDs, "p"+strconv.Itoa(i))
		b.Texts = append(b.Texts, "text "+strconv.Itoa(i))
	}
	return b
}

// TestReplicasShardAndGather: a global batch of 5 over 2 replicas gives
// rows 0-2 to replica 0 and 3-4 to replica 1; the output is the whole
// batch's in order (the loss sees every pair's negatives); each replica
// gets back its own rows of the gradient; all step at once; the state is
// replica 0's and a restored one reaches both.
func TestReplicasShardAndGather(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, fakes := newReplicaFakes(t, 2)
	y, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(5), Train: true, Graph: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := y.Float32s()
	if want := []float32{0, 0, 1, -1, 2, -2, 3, -3, 4, -4}; !slices.Equal(got, want) || !slices.Equal(y.Shape, []int64{5, 2}) {
		t.Fatalf("output %v %v, want [5 2] %v", y.Shape, got, want)
	}
	if !slices.Equal(fakes[0].ids, []string{"p0", "p1", "p2"}) || !slices.Equal(fakes[1].ids, []string{"p3", "p4"}) {
		t.Fatalf("shards %v and %v", fakes[0].ids, fakes[1].ids)
	}
	grad, _ := tensor.FromFloat32([]int64{5, 2}, []float32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	if err := r.Backward(ctx, grad); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fakes[0].grads, []float32{10, 11, 12, 13, 14, 15}) || !slices.Equal(fakes[1].grads, []float32{16, 17, 18, 19}) {
		t.Fatalf("gradient slices %v and %v", fakes[0].grads, fakes[1].grads)
	}
	if err := r.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err) // a Step run one replica after the other would wait here until the deadline
	}
	if s, _ := r.State(ctx); string(s) != "state of 0" {
		t.Errorf("state %q, want replica 0's", s)
	}
	if err := r.SetState(ctx, []byte("ckpt")); err != nil {
		t.Fatal(err)
	}
	for _, f := range fakes {
		if string(f.state) != "ckpt" {
			t.Errorf("replica %d restored %q", f.rank, f.state)
		}
	}
}

// TestReplicasErrors: a batch smaller than the replicas, a backward with
// no forward, a gradient of the wrong size, and a replica whose step
// fails are errors that say which.
func TestReplicasErrors(t *testing.T) {
	ctx := context.Background()
	r, fakes := newReplicaFakes(t, 3)
	if _, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(2)}); err == nil || !strings.Contains(err.Error(), "a batch of 2 pairs cannot be split over 3 replicas") {
		t.Errorf("small batch: %v", err)
	}
	g, _ := tensor.FromFloat32([]int64{1, 2}, []float32{1, 2})
	if err := r.Backward(ctx, g); err == nil || !strings.Contains(err.Error(), "no forward with graph") {
		t.Errorf("backward alone: %v", err)
	}
	if _, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(3), Graph: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Backward(ctx, g); err == nil || !strings.Contains(err.Error(), "for a forward of 3 rows") {
		t.Errorf("wrong gradient: %v", err)
	}
	fakes[2].failing = true
	if err := r.Step(ctx, sdk.StepRequest{}); err == nil || !strings.Contains(err.Error(), "replica 2 of 3: step: plugin process exited") {
		t.Errorf("failing step: %v", err)
	}
}

// gatherFake is a replica on a host of several: it returns the gathered
// outputs of world shards of its shard's size (here rows of its rank).
type gatherFake struct {
	replicaFake
	world int
}

func (f *gatherFake) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	f.ids = append(f.ids, req.Batch.IDs...)
	n := len(req.Batch.IDs) * f.world
	return tensor.FromFloat32([]int64{int64(n), 1}, slices.Repeat([]float32{float32(f.rank)}, n))
}

// TestHostReplicas: this host's replicas are global ranks 2 and 3 of 4;
// they get the third and fourth shards of the global batch and their rows
// of the gradient, and the output is the gathered one they return; a
// batch that does not split evenly is refused.
func TestHostReplicas(t *testing.T) {
	ctx := context.Background()
	var barrier sync.WaitGroup
	barrier.Add(2)
	fakes := []*gatherFake{{replicaFake{rank: 2, barrier: &barrier}, 4}, {replicaFake{rank: 3, barrier: &barrier}, 4}}
	r, err := NewHostReplicas([]Encoder{fakes[0], fakes[1]}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	y, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(8), Graph: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := y.Float32s(); !slices.Equal(y.Shape, []int64{8, 1}) || v[0] != 2 {
		t.Fatalf("output %v %v, want replica 2's gathered [8 1]", y.Shape, v)
	}
	if !slices.Equal(fakes[0].ids, []string{"p4", "p5"}) || !slices.Equal(fakes[1].ids, []string{"p6", "p7"}) {
		t.Fatalf("shards %v and %v", fakes[0].ids, fakes[1].ids)
	}
	grad, _ := tensor.FromFloat32([]int64{8, 1}, []float32{0, 1, 2, 3, 4, 5, 6, 7})
	if err := r.Backward(ctx, grad); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fakes[0].grads, []float32{4, 5}) || !slices.Equal(fakes[1].grads, []float32{6, 7}) {
		t.Fatalf("gradient slices %v and %v", fakes[0].grads, fakes[1].grads)
	}
	if _, err := r.Forward(ctx, sdk.ForwardRequest{Batch: idBatch(6)}); err == nil || !strings.Contains(err.Error(), "cannot be split evenly over 4 replicas") {
		t.Errorf("uneven batch: %v", err)
	}
	if _, err := NewHostReplicas([]Encoder{fakes[0], fakes[1]}, 3, 4); err == nil {
		t.Error("ranks 3 and 4 of 4 accepted")
	}
}
