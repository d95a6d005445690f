package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// cliEnv re-runs the test binary as convirt itself (`convirt run ...`),
// for tests that start several convirt processes, each with its own
// environment; the plugins such a process starts inherit it and serve
// through the same path.
const cliEnv = "CONVIRT_TEST_AS_CLI"

func init() {
	if os.Getenv(cliEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
}

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

// freePortPair returns a loopback port p such that p and p+1 were free a
// moment ago (the two encoders' stores).
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no two free consecutive ports")
	return 0
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

// TestRunWithReplicas: `convirt run` with distributed.replicas 2
// pretrains through two replicas of each encoder plugin and checkpoints as
// one run; a second run, one of whose text encoder replicas is killed
// after the first checkpoint, restarts every replica from the newest
// checkpoint and ends with the same final checkpoint; no process is left.
func TestRunWithReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every plugin process and trains twice")
	}
	path, runsDir := writeTiny(t, func(y string) string {
		y = strings.Replace(y[:strings.Index(y, "evaluate:")], "max_steps: 4", "max_steps: 6", 1)
		return y + "distributed: {replicas: 2, timeout: 60s}\n"
	})
	dir, out, _ := runOnly(t, runsDir, "run", path)
	if !strings.Contains(out, "6 steps") {
		t.Errorf("no pretraining in the output:\n%s", out)
	}
	log, err := os.ReadFile(filepath.Join(dir, runs.LogsDir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"encoder smallcnn: 2 data-parallel replicas (ranks 0 to 1 of 2)", "encoder bert: 2 data-parallel replicas (ranks 0 to 1 of 2)"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("run.log does not say %q", want)
		}
	}
	final := func(d string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(d, runs.CheckpointsDir, train.StepFile(6)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := final(dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := make(chan int, 1)
	go func() {
		for ctx.Err() == nil {
			for _, d := range runDirs(t, runsDir, "e2e") {
				if cks, _ := filepath.Glob(filepath.Join(d, runs.CheckpointsDir, "step-*.ckpt")); d != dir && len(cks) > 0 {
					killed <- killChild(t, "bert")
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	code, _, errs := runCLI(t, "run", path)
	cancel()
	if code != 0 {
		t.Fatalf("run with a killed replica: exit %d\n%s", code, errs)
	}
	if pid := <-killed; pid == 0 {
		t.Fatal("found no bert replica to kill")
	}
	if !strings.Contains(errs, `plugin "bert" died`) {
		t.Errorf("the restart is not reported:\n%s", errs)
	}
	var second string
	for _, d := range runDirs(t, runsDir, "e2e") {
		if d != dir {
			second = d
		}
	}
	if got := final(second); !slices.Equal(got, want) {
		t.Errorf("final checkpoint after the restart differs from the uninterrupted run's")
	}
	// Two nodes: two convirt runs with torchrun's variables, RANK 0 and 1
	// on loopback, one replica each, reach the parameters of one run with
	// two replicas (rank 0 writes replica 0's state, as that run does).
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nodePath := filepath.Join(filepath.Dir(path), "nodes.yaml")
	if err := os.WriteFile(nodePath, []byte(strings.Replace(string(y), "replicas: 2", "replicas: 1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePortPair(t)
	before := map[string]bool{}
	for _, d := range runDirs(t, runsDir, "e2e") {
		before[d] = true
	}
	nodesCtx, nodesCancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer nodesCancel()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for rank := range 2 {
		cmd := exec.CommandContext(nodesCtx, os.Args[0], "run", nodePath)
		cmd.Env = append(os.Environ(), cliEnv+"=1", "WORLD_SIZE=2", "RANK="+strconv.Itoa(rank), "LOCAL_RANK=0",
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &b)
	}
	for rank, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("node %d: %v\n%s", rank, err, outs[rank])
		}
	}
	var node0 string
	for _, d := range runDirs(t, runsDir, "e2e") {
		log, _ := os.ReadFile(filepath.Join(d, runs.LogsDir, "run.log"))
		if !before[d] && strings.Contains(string(log), "encoder smallcnn: 1 data-parallel replicas (ranks 0 to 0 of 2)") {
			node0 = d
		}
	}
	if node0 == "" {
		t.Fatalf("no run of node 0 says it holds rank 0 of 2 replicas:\n%s", outs[0])
	}
	if got := final(node0); !slices.Equal(got, want) {
		t.Errorf("node 0's final checkpoint differs from the one-host run with two replicas")
	}
	if left := procs.Children(os.Getpid()); len(left) > 0 {
		t.Errorf("plugin processes left behind: %v", left)
	}
}
