package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// distBatch is a fixed batch of n grayscale 32x32 images.
func distBatch(t *testing.T, n int) *sdk.Batch {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	px := make([]float32, n*32*32)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	img, err := tensor.FromFloat32([]int64{int64(n), 1, 32, 32}, px)
	if err != nil {
		t.Fatal(err)
	}
	b := &sdk.Batch{Images: img}
	for i := range n {
		b.IDs = append(b.IDs, string(rune('a'+i)))
	}
	return b
}

// distStep is one training step of enc on b with a gradient that couples
// every row to the others (each row minus the batch mean), forwards in
// eval mode (batch-norm on running statistics).
func distStep(ctx context.Context, t *testing.T, enc train.Encoder, b *sdk.Batch) error {
	y, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: b, Graph: true})
	if err != nil {
		return err
	}
	v, _ := y.Float32s()
	n, d := int(y.Shape[0]), int(y.Shape[1])
	g := make([]float32, len(v))
	for j := range d {
		var mean float32
		for i := range n {
			mean += v[i*d+j]
		}
		mean /= float32(n)
		for i := range n {
			g[i*d+j] = v[i*d+j] - mean
		}
	}
	gt, _ := tensor.FromFloat32(y.Shape, g)
	if err := enc.Backward(ctx, gt); err != nil {
		return err
	}
	return enc.Step(ctx, sdk.StepRequest{})
}

func distOutputs(ctx context.Context, t *testing.T, enc train.Encoder, b *sdk.Batch) []float32 {
	t.Helper()
	y, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := y.Float32s()
	return v
}

// TestReplicaProcessesMatchOneEncoder: two smallcnn plugin processes,
// started by the launcher as replicas and driven as one train.Replicas,
// end three steps on a global batch of 4 where one plugin process does,
// to 1e-5 relative; replica 0's state, restored onto one process, gives
// the same outputs (resume onto any N); a replica killed mid-run fails the
// step with the plugin's exit error (the run's restart path); no plugin
// process is left behind.
func TestReplicaProcessesMatchOneEncoder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := newLauncher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"seed": 5, "proj_dim": 8, "threads": 1, "optimizer": "sgd", "lr": 0.05}
	one, err := l.Encoder(ctx, "smallcnn", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	members, err := l.EncoderReplicas(ctx, "smallcnn", cfg, launch.ReplicaPlan{Local: 2, World: 2, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	encs := []train.Encoder{members[0], members[1]}
	for _, m := range members {
		defer m.Close()
	}
	rep, err := train.NewReplicas(encs)
	if err != nil {
		t.Fatal(err)
	}
	b := distBatch(t, 4)
	before := distOutputs(ctx, t, one, b)
	for range 3 {
		for _, e := range []train.Encoder{one, rep} {
			if err := distStep(ctx, t, e, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, got := distOutputs(ctx, t, one, b), distOutputs(ctx, t, rep, b)
	moved, worst := 0.0, 0.0
	for i := range want {
		moved = math.Max(moved, math.Abs(float64(want[i]-before[i])))
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i]))/math.Max(math.Abs(float64(want[i])), 1e-3))
	}
	if moved == 0 {
		t.Fatal("training changed nothing: the comparison would be empty")
	}
	if worst > 1e-5 {
		t.Errorf("two replica processes differ from one by %.3g relative after 3 steps", worst)
	}

	st, err := rep.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := l.Encoder(ctx, "smallcnn", map[string]any{"seed": 9, "proj_dim": 8, "threads": 1, "optimizer": "sgd", "lr": 0.05})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.SetState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if again := distOutputs(ctx, t, fresh, b); !equalFloats(again, got) {
		t.Errorf("replica 0's state restored onto one process gives %v, replicas gave %v", again[:4], got[:4])
	}

	// The replica dies by itself (SIGKILL from outside, as the OOM killer
	// would), not stopped by the host.
	if err := syscall.Kill(members[1].Process().PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-members[1].Process().Done()
	err = distStep(ctx, t, rep, b)
	var dead *host.ExitError
	if !errors.As(err, &dead) {
		t.Errorf("step with a dead replica: %v, want the plugin's exit error", err)
	}
	for _, m := range members {
		m.Close()
	}
	one.Close()
	fresh.Close()

	if left := procs.Children(os.Getpid()); len(left) > 0 {
		t.Errorf("plugin processes left behind: %v", left)
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
