package torchrt

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

func TestThreadsAndPin(t *testing.T) {
	if err := SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if got := NumThreads(); got != 1 {
		t.Fatalf("NumThreads() = %d after SetNumThreads(1)", got)
	}
	if err := SetNumThreads(0); err == nil {
		t.Fatal("SetNumThreads(0) succeeded")
	}
	err := Pin(func() error {
		prev, err := SetGradEnabled(false)
		if err != nil {
			return err
		}
		if !prev {
			t.Error("grad mode was off inside Pin")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeepFreedMemory allocates and frees a 16 MiB and two 96 MiB tensors
// per round on one thread, as a training step frees its activations (a
// ResNet-50 activation at batch 32 is about 100 MB), and checks that after a
// few rounds (glibc needs some to coalesce the freed blocks that libtorch's
// aligned allocations leave) the rounds reuse the memory instead of faulting
// in fresh pages. Without KeepFreedMemory glibc maps and unmaps the large
// buffers, and every round faults 53248 pages; with a thread arena (no
// convirt_one_arena) the 96 MiB ones are still mapped and unmapped.
func TestKeepFreedMemory(t *testing.T) {
	ok, err := KeepFreedMemory()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("not glibc")
	}
	if err := SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	faults := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(1, &ru); err != nil { // RUSAGE_THREAD
			t.Fatal(err)
		}
		return ru.Minflt
	}
	round := func() int64 {
		before := faults()
		var xs []*ts.Tensor
		for _, n := range []int64{4 << 20, 24 << 20, 24 << 20} {
			x, err := ts.Ones([]int64{n}, gotch.Float, gotch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			xs = append(xs, x)
		}
		for _, x := range xs {
			x.MustDrop()
		}
		return faults() - before
	}
	var last []int64
	for i := range 24 {
		n := round()
		if i >= 20 {
			last = append(last, n)
		}
	}
	var total int64
	for _, n := range last {
		total += n
	}
	if total > 4096 {
		t.Errorf("the last rounds faulted %v pages (53248 each when freed memory is returned)", last)
	}
}
