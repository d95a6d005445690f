package sdktest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// EnvCapped names, in a child test process started by Capped, the test to
// run under a memory cap.
const EnvCapped = "CONVIRT_TEST_CAPPED"

// Capped runs body in a child process of the test binary (the test re-run
// alone) whose address space is capped (CapMemory) at extra bytes above what
// it has mapped at start: code that reads or allocates without bound then
// dies with "out of memory" and fails the test instead of eating the
// machine. t must be a top-level test.
func Capped(t *testing.T, extra uint64, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(EnvCapped) == t.Name() {
		if err := CapMemory(extra); err != nil {
			t.Fatalf("cannot cap memory: %v", err)
		}
		body(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v")
	cmd.Env = append(os.Environ(), EnvCapped+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		if len(out) > 4000 {
			out = append(out[:4000], "\n[...]"...)
		}
		t.Fatalf("child test under a %d MiB memory cap failed: %v\n%s", extra>>20, err, out)
	}
}

// CapMemory caps the process's address space (RLIMIT_AS) at extra bytes
// above what it has mapped now, for a test process that must fail rather
// than grow without bound.
func CapMemory(extra uint64) error {
	vm, err := vmSize()
	if err != nil {
		return err
	}
	lim := vm + extra
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
}

// vmSize returns the address space the process has mapped, in bytes
// (VmSize of /proc/self/status).
func vmSize() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmSize in /proc/self/status")
}
