package benchmarks

import (
	"strings"
	"testing"
)

// TestBenchDistributed: two smallcnn replicas beside one, as JSON: both
// timed, the replicas' all-reduce measured and the single encoder's zero.
func TestBenchDistributed(t *testing.T) {
	var r distResult
	benchJSON(t, &r, "bench", "distributed", "--replicas", "2", "--image", "smallcnn", "--batch", "4", "--size", "32", "--steps", "2", "--json")
	if r.Replicas != 2 || r.Single.Replicas != 1 || r.Batch != 4 || r.Steps != 2 {
		t.Fatalf("record %+v", r)
	}
	for _, s := range []distStats{r.distStats, r.Single} {
		if s.SecPerStep <= 0 || s.ItemsPerSec <= 0 {
			t.Errorf("%d replica(s): step %v s, %v pairs/s", s.Replicas, s.SecPerStep, s.ItemsPerSec)
		}
	}
	if r.AllReduceSecPerStep <= 0 || r.Single.AllReduceSecPerStep != 0 {
		t.Errorf("all-reduce per step: %v with 2 replicas, %v with one", r.AllReduceSecPerStep, r.Single.AllReduceSecPerStep)
	}
}

// TestBenchDistributedUsage: a batch smaller than the replicas is a usage
// error.
func TestBenchDistributedUsage(t *testing.T) {
	code, _, errs := runCLI(t, "bench", "distributed", "--replicas", "4", "--batch", "2")
	if code != 2 || !strings.Contains(errs, "batch at least replicas") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
