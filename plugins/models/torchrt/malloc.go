package torchrt

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
// convirt_keep_freed sets glibc's allocator thresholds; it returns 1 when
// both took effect, 0 when glibc refused one, -1 without glibc.
static int convirt_keep_freed(int mmap_threshold, int trim_threshold, int top_pad) {
	if (mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1) return 0;
	if (mallopt(M_TRIM_THRESHOLD, trim_threshold) != 1) return 0;
	if (mallopt(M_TOP_PAD, top_pad) != 1) return 0;
	return 1;
}
#else
static int convirt_keep_freed(int mmap_threshold, int trim_threshold, int top_pad) { return -1; }
#endif
*/
import "C"

import (
	"errors"
	"sync"
)

// Allocator settings of KeepFreedMemory: buffers up to mmapThreshold come
// from malloc's heap (32 MiB is the largest glibc accepts), the heap keeps
// up to trimThreshold of free memory instead of returning it, and topPad
// (the size of a thread arena's heap) stops glibc from unmapping a thread
// arena's heap as soon as it is entirely free. Padding reserves address
// space only; pages count in RSS once touched.
const (
	mmapThreshold = 32 << 20
	trimThreshold = 1<<31 - 1
	topPad        = 64 << 20
)

var keepOnce struct {
	sync.Once
	ok  bool
	err error
}

// KeepFreedMemory makes glibc's malloc, which libtorch's CPU allocator uses,
// keep freed tensor memory for reuse instead of handing it back to the
// kernel. A training step frees and reallocates the same activations every
// step. With glibc's adaptive defaults the encoder processes kept returning
// them (unmapping blocks, trimming the heap) and touched fresh pages again
// every step: 90-150k page faults per ResNet-50 step at batch 8, each costing
// microseconds on a virtual machine, over a second per step. With it a
// steady-state step faults no pages; the price is that the process holds on
// to its peak memory (RSS stays at the peak of a step, which a training
// process reaches every step anyway).
//
// It is process-wide and idempotent; it reports false (and no error) on a
// C library other than glibc, where it does nothing.
func KeepFreedMemory() (bool, error) {
	keepOnce.Do(func() {
		switch C.convirt_keep_freed(C.int(mmapThreshold), C.int(trimThreshold), C.int(topPad)) {
		case 1:
			keepOnce.ok = true
		case 0:
			keepOnce.err = errors.New("torchrt: glibc refused the malloc thresholds (mallopt)")
		}
	})
	return keepOnce.ok, keepOnce.err
}
