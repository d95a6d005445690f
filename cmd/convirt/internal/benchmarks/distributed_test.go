package benchmarks

import (
	"strings"
	"testing"
)

// TestBenchDistributed: two smallcnn replicas, overlapped and summing after
// the backward, beside one, as JSON: all timed, the replicas' all-reduce
// measured and the single encoder's zero, the overlapped run's buckets (4
// KiB: several) all started during its timed steps' backward.
func TestBenchDistributed(t *testing.T) {
	var r distResult
	benchJSON(t, &r, "bench", "distributed", "--replicas", "2", "--image", "smallcnn", "--batch", "4", "--size", "32", "--steps", "2", "--bucket-mb", "0.004", "--json")
	if r.Replicas != 2 || r.AfterBackward.Replicas != 2 || r.Single.Replicas != 1 || r.Batch != 4 || r.Steps != 2 {
		t.Fatalf("record %+v", r)
	}
	for _, s := range []distStats{r.distStats, r.AfterBackward, r.Single} {
		if s.SecPerStep <= 0 || s.ItemsPerSec <= 0 {
			t.Errorf("%d replica(s): step %v s, %v pairs/s", s.Replicas, s.SecPerStep, s.ItemsPerSec)
		}
	}
	if r.AllReduceSecPerStep <= 0 || r.AfterBackward.AllReduceSecPerStep <= 0 || r.Single.AllReduceSecPerStep != 0 {
		t.Errorf("all-reduce per step: %v overlapped, %v after the backward, %v with one", r.AllReduceSecPerStep, r.AfterBackward.AllReduceSecPerStep, r.Single.AllReduceSecPerStep)
	}
	if r.Buckets < 2 || r.BucketsInBackward != r.Buckets || r.AfterBackward.BucketsInBackward != 0 {
		t.Errorf("buckets started during the backward: %d of %d overlapped, %d after the backward", r.BucketsInBackward, r.Buckets, r.AfterBackward.BucketsInBackward)
	}
	if r.AllReduceRatio <= 0 || r.StepRatio <= 0 {
		t.Errorf("ratios: all-reduce %v, step %v", r.AllReduceRatio, r.StepRatio)
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
