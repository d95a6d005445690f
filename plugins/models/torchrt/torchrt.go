// Package torchrt holds the process-wide libtorch settings that the models in
// plugins/models depend on for speed and correctness: the intra-op thread
// count, and pinning libtorch work to one OS thread.
//
// libtorch keeps three pieces of state per OS thread: the autograd grad mode,
// the OpenMP thread team, and (in gotch's C wrapper) the last error message.
// A goroutine that migrates between OS threads in the middle of a training
// step can therefore run an op with grad mode left off by another goroutine
// ("element 0 of tensors does not require grad"), lose or misattribute an
// error, and spawn one spinning OpenMP team per OS thread it visits. Run each
// training loop inside Pin (or on a goroutine that called
// runtime.LockOSThread) to avoid all three.
package torchrt

/*
int at_get_num_threads();
void at_set_num_threads(int n_threads);
int at_grad_set_enabled(int b);
void at_manual_seed(long long seed);
char *get_and_reset_last_err();
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	_ "github.com/sugarme/gotch/libtch" // defines the at_* symbols declared above
)

// lastErr returns and clears the libtorch error recorded on this OS thread.
// The caller must hold the OS thread.
func lastErr() error {
	p := C.get_and_reset_last_err()
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	return errors.New(C.GoString(p))
}

// SetNumThreads sets libtorch's intra-op thread count (at::set_num_threads).
// New OS threads pick the value up lazily, so calling it once per process is
// enough.
func SetNumThreads(n int) error {
	if n <= 0 {
		return fmt.Errorf("torchrt: thread count must be positive, got %d", n)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.at_set_num_threads(C.int(n))
	if err := lastErr(); err != nil {
		return fmt.Errorf("torchrt: set %d threads: %w", n, err)
	}
	return nil
}

// NumThreads reports libtorch's intra-op thread count (at::get_num_threads).
func NumThreads() int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := int(C.at_get_num_threads())
	_ = lastErr()
	return n
}

// SetGradEnabled sets the autograd grad mode of the calling OS thread and
// returns the previous mode. Call it only from a goroutine pinned to its OS
// thread (see Pin); otherwise the setting lands on an arbitrary thread.
func SetGradEnabled(on bool) (bool, error) {
	b := 0
	if on {
		b = 1
	}
	prev := C.at_grad_set_enabled(C.int(b))
	if err := lastErr(); err != nil {
		return false, fmt.Errorf("torchrt: set grad mode %v: %w", on, err)
	}
	return prev == 1, nil
}

// Pin runs fn on the calling goroutine locked to its current OS thread, with
// grad mode enabled on that thread, and restores the previous grad mode after.
// Everything fn does with libtorch then sees one consistent thread state.
func Pin(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev, err := SetGradEnabled(true)
	if err != nil {
		return err
	}
	defer SetGradEnabled(prev) //nolint:errcheck // restoring a mode we just read cannot fail
	return fn()
}

// ManualSeed seeds libtorch's global random generator (torch::manual_seed),
// so parameter initialisation and random inputs are reproducible.
func ManualSeed(seed int64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.at_manual_seed(C.longlong(seed))
	_ = lastErr()
}
