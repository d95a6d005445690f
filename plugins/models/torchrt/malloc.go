package torchrt

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
// convirt_one_arena runs when the program loads, before any thread
// exists: every thread then allocates from glibc's main arena, which grows
// without limit. A thread arena's heaps are at most 64 MiB, so a larger
// buffer allocated on a libtorch thread (a ResNet-50 activation at batch 32
// is about 100 MB) is mapped and unmapped by glibc whatever M_MMAP_MAX says.
// It must run this early: glibc fixes its arena limit the first time a
// thread needs an arena.
__attribute__((constructor)) static void convirt_one_arena(void) { mallopt(M_ARENA_MAX, 1); }

// convirt_keep_freed sets glibc's allocator options; it returns 1 when
// all took effect, 0 when glibc refused one, -1 without glibc.
static int convirt_keep_freed(void) {
	if (mallopt(M_MMAP_MAX, 0) != 1) return 0;
	if (mallopt(M_TRIM_THRESHOLD, -1) != 1) return 0;
	return 1;
}
#else
static int convirt_keep_freed(void) { return -1; }
#endif
*/
import "C"

import (
	"errors"
	"sync"
)

var keepOnce struct {
	sync.Once
	ok  bool
	err error
}

// KeepFreedMemory makes glibc's malloc, which libtorch's CPU allocator uses,
// keep freed tensor memory for reuse instead of handing it back to the
// kernel, so that a steady-state training step reuses the memory of the
// one before instead of faulting fresh pages in (docs/performance.md,
// "Memory allocator", has the measurements). It turns off mmap for
// allocations (M_MMAP_MAX 0: every buffer comes from the heap) and heap
// trimming (M_TRIM_THRESHOLD -1); every program that links this package
// also allocates from one arena, set when it loads (convirt_one_arena).
// The price is that the process holds on to its peak memory, which a
// training process reaches every step anyway. M_TOP_PAD is left at
// glibc's default.
//
// It is process-wide and idempotent; it reports false (and no error) on a
// C library other than glibc, where it does nothing.
func KeepFreedMemory() (bool, error) {
	keepOnce.Do(func() {
		switch C.convirt_keep_freed() {
		case 1:
			keepOnce.ok = true
		case 0:
			keepOnce.err = errors.New("torchrt: glibc refused the malloc options (mallopt)")
		}
	})
	return keepOnce.ok, keepOnce.err
}
