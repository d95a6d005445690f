// Package thp asks glibc's malloc to back convirt's heaps with transparent
// huge pages (THP), the 2 MiB pages that spare memory-bound kernels most of
// their TLB misses.
//
// libtorch keeps activations, gradients and optimiser state in glibc's heap.
// Where the kernel's THP mode is "madvise" (Debian's default) that heap
// stays on 4 KiB pages unless malloc asks for more, and a training step's
// speed then depends on where the heap landed. glibc's tunable
// glibc.malloc.hugetlb=1 (glibc 2.35 and later) makes malloc ask; the
// measurements are in docs/performance.md ("Huge pages").
//
// Tunables are read when a process starts, so the host re-executes itself
// with the tunable (Reexec) and passes it to every plugin process it starts
// (Environ). Setting CONVIRT_HUGEPAGES=0 keeps 4 KiB pages; a
// GLIBC_TUNABLES that already names glibc.malloc.hugetlb is left as it is.
// On an older glibc, or with THP off ("never"), the tunable does nothing.
package thp

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

const (
	// TunablesVar is glibc's environment variable for tunables.
	TunablesVar = "GLIBC_TUNABLES"
	// Tunable asks malloc to madvise its heap and mappings for THP.
	Tunable = "glibc.malloc.hugetlb=1"
	// OptOutVar set to 0 keeps convirt's processes on 4 KiB pages.
	OptOutVar = "CONVIRT_HUGEPAGES"
)

// tunableName is Tunable without its value.
var tunableName, _, _ = strings.Cut(Tunable, "=")

// Environ returns env with Tunable added to GLIBC_TUNABLES, and whether it
// changed anything. It leaves env alone when the user opted out
// (CONVIRT_HUGEPAGES=0) or GLIBC_TUNABLES already sets
// glibc.malloc.hugetlb. The last assignment of a variable wins, as it does
// for exec.Cmd.
func Environ(env []string) ([]string, bool) {
	tunables, at, optOut := "", -1, false
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case OptOutVar:
			optOut = v == "0"
		case TunablesVar:
			tunables, at = v, i
		}
	}
	if optOut {
		return env, false
	}
	for _, t := range strings.Split(tunables, ":") {
		if name, _, _ := strings.Cut(t, "="); name == tunableName {
			return env, false
		}
	}
	value := Tunable
	if tunables != "" {
		value = tunables + ":" + Tunable
	}
	// One GLIBC_TUNABLES, where the one in force was.
	out := make([]string, 0, len(env)+1)
	for i, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); {
		case k != TunablesVar:
			out = append(out, kv)
		case i == at:
			out = append(out, TunablesVar+"="+value)
		}
	}
	if at < 0 {
		out = append(out, TunablesVar+"="+value)
	}
	return out, true
}

// Reexec replaces the running program by itself, same arguments, with
// Environ's environment, so that glibc reads the tunable when the process
// starts again. It returns nil at once when Environ changes nothing (so the
// re-executed program does not loop), and an error when the exec fails,
// after which the caller can carry on without huge pages. Call it first in
// main, before any goroutine, file or libtorch state exists.
func Reexec() error {
	env, changed := Environ(os.Environ())
	if !changed {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("thp: find own executable: %w", err)
	}
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("thp: re-execute %s with %s: %w", exe, Tunable, err)
	}
	return nil // not reached
}
