package benchmarks

import (
	"math"
	"strings"
	"testing"
)

// TestBenchModel runs one timed training step of each model at toy size and
// checks the record. The parameter counts are torchvision's and Hugging
// Face's (classifier and pooler left out) and, for convirt, the count
// bench_torch.py --arch convirt prints, so a model whose structure drifts
// from its PyTorch twin fails here.
func TestBenchModel(t *testing.T) {
	for _, c := range []struct {
		arch   string
		params int64
	}{{"resnet18", 11176512}, {"smallcnn", 393312}, {"bert-tiny", 4320256}, {"convirt", 72265024}} {
		t.Run(c.arch, func(t *testing.T) {
			var r benchResult
			benchJSON(t, &r, "bench", "model", "--arch", c.arch, "--size", "32", "--batch", "2", "--text-len", "8",
				"--steps", "2", "--warmup", "1", "--threads", "1", "--json")
			if r.Arch != c.arch || r.Batch != 2 || r.Steps != 2 || r.Threads != 1 || r.Params != c.params {
				t.Errorf("header: %+v, want %d parameters", r, c.params)
			}
			if r.SecPerStep <= 0 || r.SecMedian <= 0 || r.CPUPerStep <= 0 || !near(r.ItemsPerSec, 2/r.SecPerStep, 1e-9) {
				t.Errorf("timing: %+v", r)
			}
			if r.RSSStartMB <= 0 || r.RSSPeakMB < r.RSSEndMB || r.GoHeapStartMB <= 0 || r.GoHeapEndMB <= 0 {
				t.Errorf("memory: %+v", r)
			}
			if math.IsNaN(r.FirstLoss) || math.IsNaN(r.LastLoss) || r.FirstLoss == r.LastLoss {
				t.Errorf("loss %v -> %v: want finite and changed by the optimiser", r.FirstLoss, r.LastLoss)
			}
		})
	}
	if code, _, errOut := runCLI(t, "bench", "model", "--arch", "vgg16", "--steps", "1"); code == 0 || !strings.Contains(errOut, `"vgg16"`) {
		t.Errorf("unknown arch: exit %d, stderr %q", code, errOut)
	}
}
