package c10d

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sugarme/gotch/ts"
)

// The test binary re-runs itself as rank 1 when childRankEnv names a port,
// of the generation in childGenEnv (0 when unset), with childCheckEnv's
// value as its Config.Check.
const (
	childRankEnv  = "CONVIRT_C10D_TEST_PORT"
	childGenEnv   = "CONVIRT_C10D_TEST_GENERATION"
	childCheckEnv = "CONVIRT_C10D_TEST_CHECK"
	// childAsEnv is the rank the child joins as (1 when unset).
	childAsEnv = "CONVIRT_C10D_TEST_RANK"
	// childDieEnv, a duration, makes the child exit that long after it
	// has joined, in the middle of a collective: a peer that dies.
	childDieEnv = "CONVIRT_C10D_TEST_DIE"
	// childFormEnv makes the child form its group without comparing
	// checks, then exit once its standard input closes.
	childFormEnv = "CONVIRT_C10D_TEST_FORM"
	// childSurviveEnv makes the child sum until a sum fails.
	childSurviveEnv = "CONVIRT_C10D_TEST_SURVIVE"
)

// childResult is what the re-run rank 1 prints: its buffers after the
// collectives.
type childResult struct {
	Sum32    []float32
	Sum64    []float64
	Gathered []float32
	// Tensors are the libtorch tensors after AllReduceTensors.
	Tensors [][]float64
}

// rankBuffers are rank r's inputs: distinct per rank so that a sum or a
// gather in the wrong order shows.
func rankBuffers(r int) ([]float32, []float64, []float32) {
	f := float32(r + 1)
	return []float32{1 * f, 2 * f, 3 * f, 0.5 * f}, []float64{1e-3 * float64(f), 7 * float64(f)}, []float32{10 * f, 100 * f}
}

// collectives runs the collectives of the test on g and returns their
// results.
func collectives(g *Group) (childResult, error) {
	a, b, c := rankBuffers(g.Rank())
	if err := g.AllReduceSum(a); err != nil {
		return childResult{}, err
	}
	if err := g.AllReduceSum64(b); err != nil {
		return childResult{}, err
	}
	out, err := g.AllGather(c)
	if err != nil {
		return childResult{}, err
	}
	tensors := rankTensors(g.Rank())
	// 16-byte buckets: the first two float32 tensors share one, the float64
	// one needs its own, the 6-element one is larger than a bucket.
	if err := g.AllReduceTensors(tensors, 16); err != nil {
		return childResult{}, err
	}
	res := childResult{Sum32: a, Sum64: b, Gathered: out}
	for _, t := range tensors {
		res.Tensors = append(res.Tensors, t.Float64Values())
	}
	return res, nil
}

// rankTensors are rank r's libtorch tensors for AllReduceTensors.
func rankTensors(r int) []*ts.Tensor {
	f := float32(r + 1)
	mk := func(v any) *ts.Tensor {
		t, err := ts.OfSlice(v)
		if err != nil {
			panic(err)
		}
		return t
	}
	return []*ts.Tensor{
		mk([]float32{f, 2 * f}),
		mk([]float32{3 * f}),
		mk([]float64{0.25 * float64(f)}),
		mk([]float32{f, f, f, f, f, 10 * f}),
	}
}

func TestMain(m *testing.M) {
	if p := os.Getenv(childRankEnv); p != "" {
		os.Exit(child(p))
	}
	os.Exit(m.Run())
}

// child runs the re-run test binary as a rank of a group whose store is
// at port and returns its exit code: rank 1 (childAsEnv sets another) of
// generation childGenEnv with childCheckEnv's Check runs collectives and
// prints their results; with childFormEnv it forms the group and exits
// once its standard input closes; with childDieEnv it sums a large buffer until it
// exits, that long after joining, in the middle of a sum; with
// childSurviveEnv it sums until a sum fails, and exits with 4.
func child(port string) int {
	p, _ := strconv.Atoi(port)
	gen, _ := strconv.Atoi(os.Getenv(childGenEnv))
	rank := 1
	if r, err := strconv.Atoi(os.Getenv(childAsEnv)); err == nil {
		rank = r
	}
	cfg := Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Port: p, Rank: rank, World: 2, Timeout: 30 * time.Second,
		Generation: gen, Check: os.Getenv(childCheckEnv)}
	if os.Getenv(childFormEnv) != "" {
		if _, _, _, err := form(&cfg, cfg.Timeout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		io.Copy(io.Discard, os.Stdin)
		return 6
	}
	g, err := Join(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if d, err := time.ParseDuration(os.Getenv(childDieEnv)); err == nil {
		time.AfterFunc(d, func() { os.Exit(5) })
	}
	if os.Getenv(childDieEnv) != "" || os.Getenv(childSurviveEnv) != "" {
		buf := make([]float32, 16<<20) // 64 MiB: more than the sockets' buffers
		for {
			if err := g.AllReduceSum(buf); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 4
			}
		}
	}
	res, err := collectives(g)
	g.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// TestTwoProcessesAllReduce: this process (rank 0) and the re-run test
// binary (rank 1) rendezvous on loopback through c10d's TCPStore and sum
// and gather through ProcessGroupGloo; both get the same, exact results,
// and the child has exited when the test ends.
func TestTwoProcessesAllReduce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &rank1{}
	g, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Port: 0, Rank: 0, World: 2, Timeout: 30 * time.Second,
		Listening: func(port int) { c.start(ctx, t, port) }})
	defer c.wait() // reaped whatever happens: no process left behind
	if err != nil {
		cancel()
		t.Fatalf("join: %v (rank 1: %s)", err, c.stderr.String())
	}
	got, err := collectives(g)
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	theirs := c.result(t)
	checkCollectives(t, got, theirs)
}

// rank1 is the re-run test binary as rank 1.
type rank1 struct {
	// stdin, when set, is the child's standard input.
	stdin          io.Reader
	cmd            *exec.Cmd
	stdout, stderr strings.Builder
}

// start runs rank 1 against rank 0's store at port, with env added.
func (c *rank1) start(ctx context.Context, t *testing.T, port int, env ...string) {
	c.cmd = exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	c.cmd.Env = append(append(os.Environ(), childRankEnv+"="+strconv.Itoa(port)), env...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = c.stdin, &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Errorf("start rank 1: %v", err)
		c.cmd = nil
	}
}

// wait reaps rank 1, if started, once.
func (c *rank1) wait() error {
	if c.cmd == nil {
		return nil
	}
	cmd := c.cmd
	c.cmd = nil
	return cmd.Wait()
}

// result waits for rank 1 and returns what it printed.
func (c *rank1) result(t *testing.T) childResult {
	t.Helper()
	if err := c.wait(); err != nil {
		t.Fatalf("rank 1: %v: %s", err, c.stderr.String())
	}
	var theirs childResult
	if err := json.Unmarshal([]byte(c.stdout.String()), &theirs); err != nil {
		t.Fatalf("rank 1's output %q: %v", c.stdout.String(), err)
	}
	return theirs
}

// checkCollectives compares both ranks' results of collectives with the
// sums and the gather computed here.
func checkCollectives(t *testing.T, got, theirs childResult) {
	t.Helper()
	a0, b0, c0 := rankBuffers(0)
	a1, b1, c1 := rankBuffers(1)
	want := childResult{Gathered: slices.Concat(c0, c1)}
	for i := range a0 {
		want.Sum32 = append(want.Sum32, a0[i]+a1[i])
	}
	for i := range b0 {
		want.Sum64 = append(want.Sum64, b0[i]+b1[i])
	}
	t0, t1 := rankTensors(0), rankTensors(1)
	for i := range t0 {
		x, y := t0[i].Float64Values(), t1[i].Float64Values()
		for j := range x {
			x[j] += y[j]
		}
		want.Tensors = append(want.Tensors, x)
	}
	for name, r := range map[string]childResult{"rank 0": got, "rank 1": theirs} {
		if !slices.Equal(r.Sum32, want.Sum32) || !slices.Equal(r.Sum64, want.Sum64) || !slices.Equal(r.Gathered, want.Gathered) ||
			!slices.EqualFunc(r.Tensors, want.Tensors, slices.Equal) {
			t.Errorf("%s got %+v, want %+v", name, r, want)
		}
	}
}

// TestRankNeverJoins: rank 0 of 2 waits alone; Join fails within the
// timeout with an error naming the address and the missing rank.
func TestRankNeverJoins(t *testing.T) {
	port := 0
	start := time.Now()
	_, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Rank: 0, World: 2, Timeout: time.Second,
		Listening: func(p int) { port = p }})
	if err == nil {
		t.Fatal("join succeeded without rank 1")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, want := range []string{"rendezvous at " + addr, "rank(s) 1 never joined within 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Generous bound: the point is that it does not hang, not its speed.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("join took %v with a 1s timeout", d)
	}
}

// TestNoStoreToJoin: rank 1 finds no rank 0 listening; Join fails within
// the timeout naming the address.
func TestNoStoreToJoin(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nobody listens there now
	_, err = Join(Config{Addr: "127.0.0.1", Port: port, Bind: "127.0.0.1", Rank: 1, World: 2, Timeout: time.Second})
	if err == nil {
		t.Fatal("join succeeded with no rank 0")
	}
	want := fmt.Sprintf("rendezvous at 127.0.0.1:%d, rank 1 of 2: rank 0's store did not answer within 1s", port)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestJoinRefusesBadRank: a rank outside the world is refused before any
// connection.
func TestJoinRefusesBadRank(t *testing.T) {
	_, err := Join(Config{Addr: "127.0.0.1", Rank: 2, World: 2, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "rank 2 of world size 2") {
		t.Errorf("got %v", err)
	}
}
