package main

import (
	"context"
	"fmt"
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

	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
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

// TestRunWithReplicas: `convirt run` with distributed.replicas 2
// pretrains through two replicas of each encoder plugin and checkpoints as
// one run; a second run, one of whose text encoder replicas is killed
// after the first checkpoint, restarts every replica from the newest
// checkpoint and ends with the same final checkpoint; two nodes (two
// convirt runs with RANK 0 and 1) reach that checkpoint too, with and
// without a node's text encoder replica killed midway (node 1's, node 0's),
// and when resumed by hand from different newest checkpoints; no process
// is left.
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
	for _, want := range []string{"encoder smallcnn: 2 data-parallel replicas (ranks 0 to 1 of 2), gradients summed by c10d gloo during the backward, in buckets of up to 25 MiB",
		"encoder bert: 2 data-parallel replicas (ranks 0 to 1 of 2)"} {
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
	node0 := runNodes(t, runsDir, nodePath, 0, "")
	if got := final(node0); !slices.Equal(got, want) {
		t.Errorf("node 0's final checkpoint differs from the one-host run with two replicas")
	}
	// The same two nodes, one node's text encoder replica killed after its
	// first checkpoint: that node restarts on the death, the other on its
	// lost peer, both from the same checkpoint, and they meet again. Node
	// 1's restarted replica may reach node 0's store before node 0 has
	// restarted (a new generation meeting the old store); node 0's is the
	// store's host.
	for _, rank := range []int{1, 0} {
		node0 = runNodes(t, runsDir, nodePath, rank, "bert")
		if got := final(node0); !slices.Equal(got, want) {
			t.Errorf("node 0's final checkpoint after node %d's restart differs from the one-host run with two replicas", rank)
		}
	}
	// Nodes that would resume apart: node 0 dies (killed, with its
	// plugins) once it has written step 4's checkpoint; node 1 loses its
	// peer, restarts and fails its rendezvous, having written step 4 too.
	// With node 1's step-4 checkpoint gone, each node resumed by hand
	// starts at its newest, 4 and 2: their replicas refuse to train apart,
	// both restart at step 2, and they end with the uninterrupted runs'
	// final checkpoint.
	apartPath := filepath.Join(filepath.Dir(path), "apart.yaml")
	if err := os.WriteFile(apartPath, []byte(strings.Replace(string(y), "replicas: 2, timeout: 60s", "replicas: 1, timeout: 8s", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs := resumeApart(t, runsDir, apartPath)
	if got := final(dirs[0]); !slices.Equal(got, want) {
		t.Errorf("node 0's final checkpoint after resuming apart differs from the one-host run with two replicas")
	}
	// With evaluations in the recipe, rank 0's run evaluates and reports;
	// node 1's pretrains only and says so.
	evalPath, evalRuns := writeTiny(t, func(y string) string {
		return y + "distributed: {replicas: 1, timeout: 60s}\n"
	})
	if err := os.MkdirAll(filepath.Join(evalRuns, "e2e"), 0o755); err != nil {
		t.Fatal(err)
	}
	evalNode0 := runNodes(t, evalRuns, evalPath, 0, "")
	for _, d := range runDirs(t, evalRuns, "e2e") {
		_, err := os.Stat(filepath.Join(d, "results.json"))
		log, _ := os.ReadFile(filepath.Join(d, runs.LogsDir, "run.log"))
		switch {
		case d == evalNode0 && err != nil:
			t.Errorf("node 0 wrote no results: %v", err)
		case d != evalNode0 && (err == nil || !strings.Contains(string(log), "this run, node 1 of 2, pretrained only")):
			t.Errorf("node 1 evaluated (results: %v) or does not say it left that to rank 0:\n%s", err, log)
		}
	}
	// GLOO_SOCKET_IFNAME reaches the replicas, as torch.distributed's: an
	// interface the host has not fails the first step, naming it.
	bad := exec.Command(os.Args[0], "run", path)
	bad.Env = append(os.Environ(), cliEnv+"=1", "GLOO_SOCKET_IFNAME=nosuchif0")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), `network interface "nosuchif0" (GLOO_SOCKET_IFNAME)`) {
		t.Errorf("a run with GLOO_SOCKET_IFNAME=nosuchif0: %v\n%s", err, out)
	}
	if left := procs.Children(os.Getpid()); len(left) > 0 {
		t.Errorf("plugin processes left behind: %v", left)
	}
}

// runNodes runs the recipe at path as two nodes, two `convirt run`
// processes with torchrun's variables (RANK 0 and 1 on loopback), and
// returns node 0's run directory. With kill set, node killRank's plugin of
// that name is killed once that node has written a checkpoint, and both
// nodes must say that they restarted.
func runNodes(t *testing.T, runsDir, path string, killRank int, kill string) string {
	t.Helper()
	port := freePortPair(t)
	nodeDir := newNodeRuns(t, runsDir)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmds, outs := startNodes(ctx, t, port, func(int) []string { return []string{"run", path} })
	killed := make(chan int, 1)
	if kill != "" {
		go func() {
			defer close(killed)
			for ctx.Err() == nil {
				if d := nodeDir(killRank); d != "" {
					if cks, _ := filepath.Glob(filepath.Join(d, runs.CheckpointsDir, "step-*.ckpt")); len(cks) > 0 {
						for _, p := range procs.Children(cmds[killRank].Process.Pid) {
							if p.Plugin() == kill && syscall.Kill(p.PID, syscall.SIGKILL) == nil {
								killed <- p.PID
								return
							}
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	for rank, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("node %d: %v\n%s", rank, err, outs[rank])
		}
	}
	cancel()
	if kill != "" {
		if <-killed == 0 {
			t.Fatalf("found no %s plugin of node %d to kill", kill, killRank)
		}
		for rank, out := range outs {
			want := "a replica on another host was lost"
			if rank == killRank {
				want = fmt.Sprintf("plugin %q died", kill)
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("node %d does not say %q:\n%s", rank, want, out)
			}
		}
	}
	d := nodeDir(0)
	if d == "" {
		t.Fatalf("no run of node 0 says it holds rank 0 of 2 replicas:\n%s", outs[0])
	}
	return d
}

// newNodeRuns notes the runs already in runsDir and returns where the
// run of node rank started after that is ("" until its run.log says it
// holds that rank).
func newNodeRuns(t *testing.T, runsDir string) func(rank int) string {
	t.Helper()
	before := map[string]bool{}
	for _, d := range runDirs(t, runsDir, "e2e") {
		before[d] = true
	}
	return func(rank int) string {
		mark := fmt.Sprintf("encoder smallcnn: 1 data-parallel replicas (ranks %d to %d of 2)", rank, rank)
		for _, d := range runDirs(t, runsDir, "e2e") {
			log, _ := os.ReadFile(filepath.Join(d, runs.LogsDir, "run.log"))
			if !before[d] && strings.Contains(string(log), mark) {
				return d
			}
		}
		return ""
	}
}

// startNodes starts two convirt processes with torchrun's variables (RANK
// 0 and 1 on loopback, MASTER_PORT port), each with args(rank); their
// combined outputs are outs.
func startNodes(ctx context.Context, t *testing.T, port int, args func(rank int) []string) ([]*exec.Cmd, []*strings.Builder) {
	t.Helper()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for rank := range 2 {
		cmd := exec.CommandContext(ctx, os.Args[0], args(rank)...)
		cmd.Env = append(os.Environ(), cliEnv+"=1", "WORLD_SIZE=2", "RANK="+strconv.Itoa(rank), "LOCAL_RANK=0",
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &b)
	}
	return cmds, outs
}

// resumeApart runs the two-node recipe at path until node 0 has written
// step 4's checkpoint, kills node 0, lets node 1 fail without it, removes
// node 1's step-4 checkpoint and resumes both nodes by hand, which must
// restart together at step 2; it returns the nodes' run directories, node
// 0's first.
func resumeApart(t *testing.T, runsDir, path string) [2]string {
	t.Helper()
	nodeDir := newNodeRuns(t, runsDir)
	var dirs [2]string
	nodeDirs := func() bool {
		dirs = [2]string{nodeDir(0), nodeDir(1)}
		return dirs[0] != "" && dirs[1] != ""
	}
	ckpt := func(rank, step int) string {
		return filepath.Join(dirs[rank], runs.CheckpointsDir, train.StepFile(step))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	port := freePortPair(t)
	cmds, outs := startNodes(ctx, t, port, func(int) []string { return []string{"run", path} })
	for {
		if nodeDirs() {
			if _, err := os.Stat(ckpt(0, 4)); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("node 0 wrote no checkpoint of step 4:\n%s", outs[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmds[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmds[0].Wait()
	if err := cmds[1].Wait(); err == nil || !strings.Contains(outs[1].String(), "a replica on another host was lost") {
		t.Fatalf("node 1 without node 0: %v\n%s", err, outs[1])
	}
	if err := os.Remove(ckpt(1, 4)); err != nil {
		t.Fatalf("node 1 kept no checkpoint of step 4: %v", err)
	}
	cmds, outs = startNodes(ctx, t, port, func(rank int) []string { return []string{"run", "--resume", dirs[rank]} })
	for rank, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("node %d resumed: %v\n%s", rank, err, outs[rank])
		}
		if want := "the hosts resumed from different checkpoints"; !strings.Contains(outs[rank].String(), want) || !strings.Contains(outs[rank].String(), "restarting from the checkpoint of step 2") {
			t.Errorf("node %d does not say %q and that it restarts at step 2:\n%s", rank, want, outs[rank])
		}
	}
	return dirs
}
