// Package c10d reaches libtorch's own distributed runtime, c10d, from Go
// through a small C++ shim (shim.cpp): c10d::TCPStore for the rendezvous
// and c10d::ProcessGroupGloo for the collectives (all-reduce and
// all-gather) that data-parallel encoder replicas need (docs/distributed.md).
// No reduction or rendezvous is written here: a Group only hands buffers to
// c10d and waits for its work.
//
// Rank 0 hosts the TCPStore at the rendezvous address (torchrun's
// MASTER_ADDR and MASTER_PORT); every rank connects to it, marks itself
// joined and builds a ProcessGroupGloo over it, which exchanges the ranks'
// addresses through the store and connects them all. A rank missing at the
// timeout fails Join with an error naming the address and the missing
// ranks.
//
// The shim links Debian's libtorch (libtorch-dev) and compiles against its
// c10d headers and libgloo-dev's gloo headers (ProcessGroupGloo.hpp
// includes them); for another libtorch (LIBTORCH=/path make build) make fit
// writes that libtorch's flags into libtorch_cgo.go here
// (core/torchbuild.ShimFile), and its include/gloo, where a libtorch from
// pytorch.org has gloo's headers, comes before the system's.
package c10d

// #cgo CXXFLAGS: -std=c++17 -O2 -w -DUSE_C10D_GLOO -isystem /usr/include/torch/csrc/api/include
// #cgo LDFLAGS: -Wl,--no-as-needed -lstdc++ -ltorch -ltorch_cpu -lc10
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	_ "github.com/sugarme/gotch/libtch" // the fitted libtorch's link flags
	"github.com/sugarme/gotch/ts"
)

// Group is one rank's membership of a c10d process group. Its methods may
// be called from one goroutine at a time.
type Group struct {
	mu    sync.Mutex
	g     *C.cvd_group
	st    *C.cvd_store
	rank  int
	world int
}

// Devices describes the addresses gloo's TCP devices bound to, for logs
// and for telling which network the collectives use.
func (g *Group) Devices() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.g == nil {
		return ""
	}
	return takeString(C.cvd_group_devices(g.g))
}

// Rank is this process's rank.
func (g *Group) Rank() int { return g.rank }

// World is the number of ranks.
func (g *Group) World() int { return g.world }

// AllReduceSum replaces buf on every rank with the element-wise sum of all
// ranks' buf (c10d's allreduce, ReduceOp SUM). Every rank must pass a
// buffer of the same length.
func (g *Group) AllReduceSum(buf []float32) error {
	if len(buf) == 0 {
		return nil
	}
	return g.call("all-reduce", func(e **C.char) C.int {
		return C.cvd_allreduce(g.g, unsafe.Pointer(&buf[0]), C.int64_t(len(buf)), C.CVD_F32, e)
	})
}

// AllReduceSum64 is AllReduceSum for float64 buffers.
func (g *Group) AllReduceSum64(buf []float64) error {
	if len(buf) == 0 {
		return nil
	}
	return g.call("all-reduce", func(e **C.char) C.int {
		return C.cvd_allreduce(g.g, unsafe.Pointer(&buf[0]), C.int64_t(len(buf)), C.CVD_F64, e)
	})
}

// AllGather returns every rank's in, concatenated in rank order. Every
// rank must pass the same length.
func (g *Group) AllGather(in []float32) ([]float32, error) {
	out := make([]float32, len(in)*g.world)
	if len(in) == 0 {
		return out, nil
	}
	err := g.call("all-gather", func(e **C.char) C.int {
		return C.cvd_allgather(g.g, unsafe.Pointer(&in[0]), C.int64_t(len(in)), unsafe.Pointer(&out[0]), C.CVD_F32, e)
	})
	return out, err
}

// DefaultBucketBytes is DDP's default bucket size (bucket_cap_mb 25).
const DefaultBucketBytes = 25 << 20

// AllReduceTensors sums ts over the ranks, in place (gradients, as DDP's
// Reducer all-reduces them): flattened into buckets of at most
// bucketBytes, each bucket's all-reduce started before the first is
// waited on. Every rank must pass tensors of the same shapes in the same
// order. The tensors must not be used by another thread meanwhile.
func (g *Group) AllReduceTensors(tensors []*ts.Tensor, bucketBytes int64) error {
	if len(tensors) == 0 {
		return nil
	}
	ptrs := cTensors(tensors)
	defer C.free(ptrs)
	err := g.call("all-reduce", func(e **C.char) C.int {
		return C.cvd_allreduce_tensors(g.g, (*unsafe.Pointer)(ptrs), C.int(len(tensors)), C.int64_t(bucketBytes), e)
	})
	runtime.KeepAlive(tensors)
	return err
}

// cTensors is a malloc'd C array (the caller frees it) of tensors'
// at::Tensor pointers, as the shim takes them.
func cTensors(tensors []*ts.Tensor) unsafe.Pointer {
	ptrs := C.malloc(C.size_t(len(tensors)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	arr := unsafe.Slice((*unsafe.Pointer)(ptrs), len(tensors))
	for i, t := range tensors {
		arr[i] = t.Ctensor()
	}
	return ptrs
}

func (g *Group) call(what string, f func(**C.char) C.int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.g == nil {
		return fmt.Errorf("c10d %s: rank %d: group closed", what, g.rank)
	}
	var cerr *C.char
	if f(&cerr) != 0 {
		return fmt.Errorf("c10d %s: rank %d of %d: %s", what, g.rank, g.world, takeString(cerr))
	}
	return nil
}

// Close leaves the group: it ends gloo's threads and closes the store (on
// rank 0, the other ranks' store with it). It is safe to call twice.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.g != nil {
		C.cvd_group_free(g.g)
		C.cvd_store_free(g.st)
		g.g, g.st = nil, nil
	}
	return nil
}

// takeString copies and frees a message the shim malloc'd ("" for NULL).
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(p))
	return strings.TrimSpace(C.GoString(p))
}
