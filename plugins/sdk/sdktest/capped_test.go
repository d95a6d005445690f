package sdktest_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// TestCappedRefusesLargeMapping: the body runs in a child process whose
// address space is capped, so mapping 1 GiB more than a 256 MiB cap allows
// is refused there, while the parent (this process) is not capped.
func TestCappedRefusesLargeMapping(t *testing.T) {
	sdktest.Capped(t, 256<<20, func(t *testing.T) {
		if os.Getenv(sdktest.EnvCapped) != t.Name() {
			t.Fatal("the body ran outside the capped child")
		}
		b, err := syscall.Mmap(-1, 0, 1<<30, syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err == nil {
			syscall.Munmap(b)
			t.Fatal("mapped 1 GiB under a 256 MiB cap")
		}
	})
	if os.Getenv(sdktest.EnvCapped) == "" {
		b, err := syscall.Mmap(-1, 0, 1<<30, syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			t.Fatalf("the parent cannot map 1 GiB: %v", err)
		}
		syscall.Munmap(b)
	}
}
