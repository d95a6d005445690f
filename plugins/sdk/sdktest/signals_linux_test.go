package sdktest_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// children returns the pids of this process's children.
func children(t *testing.T) []int {
	t.Helper()
	files, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// TestPluginOutlivesSIGINTAndSIGTERM: a batch scheduler (Slurm before a
// time limit) signals every process of a job, plugins included; a plugin
// must stay up so that the host, which the same signal asks to stop
// cleanly, can still save the plugin's state in a final checkpoint. The
// host ends its plugins itself (Close, or the parent-death signal).
func TestPluginOutlivesSIGINTAndSIGTERM(t *testing.T) {
	ctx := context.Background()
	ev := sdktest.Start(t, "counter", sdk.KindEvaluator).(sdk.Evaluator)
	if _, err := ev.Info(ctx); err != nil {
		t.Fatal(err)
	}
	pids := children(t)
	if len(pids) == 0 {
		t.Fatal("found no plugin process")
	}
	for _, pid := range pids {
		// SIGINT is caught (go-plugin ignores it), SIGTERM ignored.
		if !handles(t, pid, "SigIgn", syscall.SIGTERM) || !handles(t, pid, "SigCgt", syscall.SIGINT) {
			t.Fatalf("plugin %d: SIGTERM not ignored or SIGINT not caught", pid)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, pid := range pids {
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ev.Info(ctx); err != nil {
			t.Fatalf("after %v: %v", sig, err)
		}
	}
}

// handles reports whether sig is in the mask field (SigIgn, SigCgt) of
// /proc/PID/status.
func handles(t *testing.T, pid int, field string, sig syscall.Signal) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(uint(sig)-1)) != 0
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return false
}
