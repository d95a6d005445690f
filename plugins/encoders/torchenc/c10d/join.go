package c10d

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"net"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Config says where the rendezvous is and which rank of how many this
// process is.
type Config struct {
	// Addr and Port are rank 0's TCPStore (MASTER_ADDR, MASTER_PORT).
	// Port 0 on rank 0 picks a free port, reported to Listening.
	Addr string
	Port int
	// Rank is this process's rank in [0, World).
	Rank, World int
	// Generation numbers the starts of one group at one address: 0 at
	// first, one more at each start after a fault. Each generation's
	// rendezvous has keys of its own, so a rank of a new start that
	// reaches the store of an earlier one, not yet closed, never joins
	// that group: it waits, and when that store goes away it connects
	// again, to the new one.
	Generation int
	// Check, when set, must be the same on every rank (replicas pass the
	// training step they start at): Join fails on every rank, listing each
	// rank's, when they differ.
	Check string
	// Bind is the host name or address gloo's TCP device binds to ("" for
	// this host's name, as torch.distributed does without
	// GLOO_SOCKET_IFNAME).
	Bind string
	// Interfaces, when set, are the network interfaces gloo binds a TCP
	// device to each, instead of Bind (torch.distributed's
	// GLOO_SOCKET_IFNAME, e.g. "eth0" or "ib0,ib1").
	Interfaces []string
	// Timeout bounds the rendezvous and every collective.
	Timeout time.Duration
	// Listening, when set, is called on rank 0 once its store first
	// listens, with the port, before Join waits for the other ranks.
	Listening func(port int)
}

// ErrApart is wrapped by Join's error when the ranks' Config.Check
// differ (an *ApartError).
var ErrApart = errors.New("the ranks do not start alike")

// ApartError is Join's error when the ranks' Config.Check differ: every
// rank's, in rank order.
type ApartError struct{ Checks []string }

func (e *ApartError) Error() string {
	parts := make([]string, len(e.Checks))
	for r, c := range e.Checks {
		parts[r] = fmt.Sprintf("rank %d %s", r, c)
	}
	return fmt.Sprintf("%v: %s", ErrApart, strings.Join(parts, ", "))
}

// Is makes an ApartError ErrApart.
func (e *ApartError) Is(target error) bool { return target == ErrApart }

// retryPause is the pause before Join tries again after its store went
// away (or, on rank 0 of a later generation, could not listen yet): the
// earlier generation's processes are being stopped.
const retryPause = 200 * time.Millisecond

// Join rendezvouses with the other ranks at cfg's address and returns this
// rank's Group, or an error naming the address and the ranks that never
// joined within cfg.Timeout. A rendezvous cut short before the timeout
// (the store it reached closed: an earlier generation's) is tried again.
//
// Join makes the process ignore SIGPIPE, as Python does for PyTorch: the
// store's client and gloo write to their peers' sockets from C++, on
// threads of their own, and a write to a peer that died would otherwise
// kill this process with SIGPIPE instead of failing the collective with
// EPIPE, so that a replica that only lost its peer would look dead itself.
func Join(cfg Config) (*Group, error) {
	signal.Ignore(syscall.SIGPIPE)
	if cfg.World < 1 || cfg.Rank < 0 || cfg.Rank >= cfg.World {
		return nil, fmt.Errorf("c10d: rank %d of world size %d: want 0 <= rank < world", cfg.Rank, cfg.World)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("c10d: timeout %v: want a positive duration", cfg.Timeout)
	}
	if cfg.Generation < 0 {
		return nil, fmt.Errorf("c10d: generation %d: want 0 or more", cfg.Generation)
	}
	for _, name := range cfg.Interfaces {
		if _, err := net.InterfaceByName(name); err != nil {
			return nil, fmt.Errorf("c10d: network interface %q (GLOO_SOCKET_IFNAME): %w", name, err)
		}
	}
	deadline := time.Now().Add(cfg.Timeout)
	left := cfg.Timeout
	for {
		g, retry, err := joinOnce(&cfg, left)
		// c10d's store cannot connect (rank 0 to itself) within less than a
		// second.
		if left = time.Until(deadline); err == nil || !retry || left < time.Second {
			return g, err
		}
		time.Sleep(retryPause)
	}
}

// keyPrefix is the store keys' prefix of a generation; generation 0's is
// that of the first releases.
func keyPrefix(generation int) string {
	if generation == 0 {
		return "convirt/"
	}
	return "convirt/g" + strconv.Itoa(generation) + "/"
}

// ErrPeerLost is wrapped by Join's error when the ranks had formed their
// group but one was lost before all had compared their Config.Check: the
// fault of a failed collective, which restarting every rank recovers
// from, not a rendezvous that cannot happen.
var ErrPeerLost = errors.New("a rank was lost once the group had formed")

// joinOnce is one try of Join with left of its timeout; retry says whether
// its error may pass with another try.
func joinOnce(cfg *Config, left time.Duration) (*Group, bool, error) {
	g, where, retry, err := form(cfg, left)
	if err != nil {
		return nil, retry, err
	}
	if err := g.agree(keyPrefix(cfg.Generation)+"check/", cfg.Check); err != nil {
		g.Close()
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	return g, false, nil
}

// form is joinOnce up to the group's forming, before the ranks compare
// their checks: it returns the group and the rendezvous's description for
// errors, or whether its error may pass with another try.
func form(cfg *Config, left time.Duration) (*Group, string, bool, error) {
	addr := net.JoinHostPort(cfg.Addr, strconv.Itoa(cfg.Port))
	where := fmt.Sprintf("rendezvous at %s, rank %d of %d", addr, cfg.Rank, cfg.World)
	host := C.CString(cfg.Addr)
	defer C.free(unsafe.Pointer(host))
	bind := C.CString(cfg.Bind)
	defer C.free(unsafe.Pointer(bind))
	server := C.int(0)
	if cfg.Rank == 0 {
		server = 1
	}
	var cerr *C.char
	st := C.cvd_store_new(host, C.int(cfg.Port), server, C.int64_t(left.Milliseconds()), &cerr)
	if st == nil {
		if cfg.Rank == 0 {
			return nil, where, cfg.Generation > 0, fmt.Errorf("%s: listen: %s", where, takeString(cerr))
		}
		return nil, where, false, fmt.Errorf("%s: rank 0's store did not answer within %v: %s", where, cfg.Timeout, takeString(cerr))
	}
	if cfg.Rank == 0 {
		port := int(C.cvd_store_port(st))
		where = fmt.Sprintf("rendezvous at %s, rank %d of %d", net.JoinHostPort(cfg.Addr, strconv.Itoa(port)), cfg.Rank, cfg.World)
		if cfg.Listening != nil {
			cfg.Listening(port)
			cfg.Listening = nil
		}
	}
	prefix := keyPrefix(cfg.Generation)
	if err := storeSet(st, prefix+"check/"+strconv.Itoa(cfg.Rank), cfg.Check); err != nil {
		C.cvd_store_free(st)
		return nil, where, true, fmt.Errorf("%s: %w", where, err)
	}
	cprefix := C.CString(prefix)
	defer C.free(unsafe.Pointer(cprefix))
	ifaces := C.CString(strings.Join(cfg.Interfaces, ","))
	defer C.free(unsafe.Pointer(ifaces))
	var missing *C.char
	g := C.cvd_group_new(st, cprefix, C.int(cfg.Rank), C.int(cfg.World), bind, ifaces, C.int64_t(cfg.Timeout.Milliseconds()), &missing, &cerr)
	if g == nil {
		C.cvd_store_free(st)
		msg := takeString(cerr)
		if m := takeString(missing); m != "" {
			return nil, where, true, fmt.Errorf("%s: rank(s) %s never joined within %v: %s", where, m, cfg.Timeout, msg)
		}
		if len(cfg.Interfaces) > 0 {
			msg = fmt.Sprintf("%s (gloo's devices on the interfaces %s: GLOO_SOCKET_IFNAME)", msg, strings.Join(cfg.Interfaces, ","))
		}
		return nil, where, true, fmt.Errorf("%s: %s", where, msg)
	}
	grp := &Group{g: g, st: st, rank: cfg.Rank, world: cfg.World}
	runtime.SetFinalizer(grp, (*Group).Close)
	return grp, where, false, nil
}

// agree reads every rank's check under prefix and fails, listing them,
// unless all equal mine. Every rank has read them all before any returns
// (an all-reduce), so that rank 0 closing its store on a disagreement
// cannot cut another rank's reading short. A failure to read or sum is a
// lost rank's (ErrPeerLost).
func (g *Group) agree(prefix, mine string) error {
	checks := make([]string, g.world)
	differ := false
	for r := range g.world {
		v, err := storeGet(g.st, prefix+strconv.Itoa(r))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPeerLost, err)
		}
		checks[r] = v
		differ = differ || v != mine
	}
	if err := g.AllReduceSum([]float32{0}); err != nil {
		return fmt.Errorf("%w: %w", ErrPeerLost, err)
	}
	if !differ {
		return nil
	}
	return &ApartError{Checks: checks}
}

func storeSet(st *C.cvd_store, key, value string) error {
	k, v := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(v))
	var cerr *C.char
	if C.cvd_store_set(st, k, v, &cerr) != 0 {
		return fmt.Errorf("store set %s: %s", key, takeString(cerr))
	}
	return nil
}

func storeGet(st *C.cvd_store, key string) (string, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var cerr *C.char
	v := C.cvd_store_get(st, k, &cerr)
	if v == nil {
		return "", fmt.Errorf("store get %s: %s", key, takeString(cerr))
	}
	return takeString(v), nil
}
