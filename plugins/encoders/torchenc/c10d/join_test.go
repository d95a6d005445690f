package c10d

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJoinAfterEarlierStoreCloses: a rank of generation 1 that reaches
// the store of generation 0 (its rank 0 not yet gone, as after a fault on
// another host) does not join that group; when that store closes it
// connects again, joins generation 1's rank 0 at the same port, and the
// two sum and gather exactly.
func TestJoinAfterEarlierStoreCloses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := &rank1{}
	defer c.wait()
	port := 0
	_, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Rank: 0, World: 2, Timeout: 3 * time.Second,
		Listening: func(p int) {
			port = p
			c.start(ctx, t, p, childGenEnv+"=1")
		}})
	if err == nil || !strings.Contains(err.Error(), "rank(s) 1 never joined") {
		cancel()
		t.Fatalf("generation 0's rank 0 joined generation 1's rank 1: %v (rank 1: %s)", err, c.stderr.String())
	}
	g, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Port: port, Rank: 0, World: 2, Timeout: 30 * time.Second, Generation: 1})
	if err != nil {
		cancel()
		t.Fatalf("generation 1: %v (rank 1: %s)", err, c.stderr.String())
	}
	got, err := collectives(g)
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkCollectives(t, got, c.result(t))
}

// TestRanksThatStartApart: ranks whose Check differs (replicas resuming
// from different steps) both fail to join, each listing every rank's.
func TestRanksThatStartApart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &rank1{}
	_, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Rank: 0, World: 2, Timeout: 30 * time.Second, Check: "step 5",
		Listening: func(p int) { c.start(ctx, t, p, childCheckEnv+"=step 7") }})
	werr := c.wait()
	const want = "the ranks do not start alike: rank 0 step 5, rank 1 step 7"
	var apart *ApartError
	if err == nil || !strings.Contains(err.Error(), want) || !errors.As(err, &apart) || !slices.Equal(apart.Checks, []string{"step 5", "step 7"}) || !errors.Is(err, ErrApart) {
		t.Errorf("rank 0: got %v, want an *ApartError saying %q", err, want)
	}
	if werr == nil || !strings.Contains(c.stderr.String(), want) {
		t.Errorf("rank 1 (%v): said %q, want %q", werr, c.stderr.String(), want)
	}
}

// TestJoinOnInterfaces: gloo's devices on named interfaces (loopback here),
// as GLOO_SOCKET_IFNAME names them, connect the ranks; an interface the
// host has not is refused before any connection, naming it.
func TestJoinOnInterfaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &rank1{}
	// Bind names another loopback address: the interfaces must win.
	g, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.2", Interfaces: []string{"lo"}, Rank: 0, World: 2, Timeout: 30 * time.Second,
		Listening: func(p int) { c.start(ctx, t, p) }})
	defer c.wait()
	if err != nil {
		cancel()
		t.Fatalf("join on lo: %v (rank 1: %s)", err, c.stderr.String())
	}
	if d := g.Devices(); !strings.Contains(d, "127.0.0.1") || strings.Contains(d, "127.0.0.2") {
		t.Errorf("gloo's device on lo is %q, not on 127.0.0.1", d)
	}
	got, err := collectives(g)
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkCollectives(t, got, c.result(t))
	_, err = Join(Config{Addr: "127.0.0.1", Interfaces: []string{"lo", "nosuchif0"}, Rank: 0, World: 2, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), `network interface "nosuchif0" (GLOO_SOCKET_IFNAME)`) {
		t.Errorf("an interface the host has not: %v", err)
	}
}

// TestLostPeerFailsTheCollective: rank 0, the store's host, exits in the
// middle of a sum, as a killed plugin does; rank 1's sum fails with an
// error naming it, and rank 1 lives on to report it. gloo writes to its
// peers' sockets from threads of its own: with SIGPIPE's default action a
// write to the dead peer's socket would kill the process (a replica on
// the other host then looks dead itself), so Join ignores SIGPIPE, as
// Python does under PyTorch.
func TestLostPeerFailsTheCollective(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dying, survivor := &rank1{}, &rank1{}
	dying.start(ctx, t, port, childAsEnv+"=0", childDieEnv+"=500ms")
	survivor.start(ctx, t, port, childSurviveEnv+"=1")
	derr, serr := dying.wait(), survivor.wait()
	var exit *exec.ExitError
	if !errors.As(derr, &exit) || exit.ExitCode() != 5 {
		t.Fatalf("rank 0 did not die as planned: %v\n%s", derr, dying.stderr.String())
	}
	if !errors.As(serr, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("rank 1 did not report a failed sum: %v\n%s", serr, survivor.stderr.String())
	}
	if want := "c10d all-reduce: rank 1 of 2: "; !strings.Contains(survivor.stderr.String(), want) {
		t.Errorf("rank 1 said %q, want %q", survivor.stderr.String(), want)
	}
}

// TestPeerLostBeforeTheChecks: a rank lost once the group has formed,
// before the ranks have compared their checks, fails the comparison with
// ErrPeerLost (a collective's fault, which a restart recovers from), not
// as a rendezvous that cannot happen.
func TestPeerLostBeforeTheChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hold, release := io.Pipe()
	c := &rank1{stdin: hold}
	defer c.wait()
	defer release.Close()
	cfg := Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Rank: 0, World: 2, Timeout: 10 * time.Second,
		Listening: func(p int) { c.start(ctx, t, p, childFormEnv+"=1") }}
	g, _, _, err := form(&cfg, cfg.Timeout)
	if err != nil {
		t.Fatalf("form: %v (rank 1: %s)", err, c.stderr.String())
	}
	defer g.Close()
	release.Close() // rank 1 exits once it has formed the group too
	var exit *exec.ExitError
	if err := c.wait(); !errors.As(err, &exit) || exit.ExitCode() != 6 {
		t.Fatalf("rank 1: %v: %s", err, c.stderr.String())
	}
	err = g.agree(keyPrefix(0)+"check/", "")
	if !errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), "c10d all-reduce: rank 0 of 2") {
		t.Errorf("got %v, want ErrPeerLost and the failed all-reduce", err)
	}
}

// TestJoinIgnoresSIGPIPE: after Join, this process ignores SIGPIPE (see
// TestLostPeerFailsTheCollective).
func TestJoinIgnoresSIGPIPE(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &rank1{}
	g, err := Join(Config{Addr: "127.0.0.1", Bind: "127.0.0.1", Rank: 0, World: 2, Timeout: 30 * time.Second,
		Listening: func(p int) { c.start(ctx, t, p) }})
	defer c.wait()
	if err != nil {
		cancel()
		t.Fatalf("join: %v (rank 1: %s)", err, c.stderr.String())
	}
	if _, err := collectives(g); err != nil {
		t.Fatal(err)
	}
	g.Close()
	if !ignored(t, syscall.SIGPIPE) {
		t.Error("SIGPIPE is not ignored after Join")
	}
}

// ignored reports whether this process ignores sig (/proc/self/status's
// SigIgn mask).
func ignored(t *testing.T, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	t.Fatal("/proc/self/status has no SigIgn")
	return false
}
