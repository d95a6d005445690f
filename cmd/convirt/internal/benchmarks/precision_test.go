package benchmarks

import (
	"math"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/sugarme/gotch"
)

func skipWithoutBF16(t *testing.T) {
	t.Helper()
	if err := autocast.Check(autocast.BF16, gotch.CPU); err != nil {
		t.Skipf("this CPU cannot run bf16 (the refusal is tested below): %v", err)
	}
}

// TestBenchPrecisionRefused: fp16 on the CPU is refused before any step,
// with the reason, by bench model (a usage error) and by the encoder
// plugins bench convirt starts.
func TestBenchPrecisionRefused(t *testing.T) {
	code, _, errOut := runCLI(t, "bench", "model", "--arch", "smallcnn", "--precision", "fp16", "--steps", "1")
	if code != 2 || !strings.Contains(errOut, "fp16 needs a CUDA device") {
		t.Errorf("bench model --precision fp16: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "bench", "convirt", "--image", "smallcnn", "--text", "tiny", "--batch", "2", "--size", "32",
		"--text-len", "8", "--steps", "1", "--threads", "1", "--precision", "fp16")
	if code != 1 || !strings.Contains(errOut, "fp16 needs a CUDA device") || !strings.Contains(errOut, "smallcnn") {
		t.Errorf("bench convirt --precision fp16: exit %d, stderr %q; want the image plugin's refusal", code, errOut)
	}
}

// TestBenchModelBF16ChannelsLast: a bf16, channels-last model step records
// both and trains.
func TestBenchModelBF16ChannelsLast(t *testing.T) {
	skipWithoutBF16(t)
	var r benchResult
	benchJSON(t, &r, "bench", "model", "--arch", "smallcnn", "--size", "32", "--batch", "2", "--steps", "2", "--warmup", "1",
		"--threads", "1", "--precision", "bf16", "--channels-last", "--json")
	if r.Precision != "bf16" || !r.ChannelsLast {
		t.Errorf("record: precision %q, channels_last %v", r.Precision, r.ChannelsLast)
	}
	if math.IsNaN(r.LastLoss) || r.FirstLoss == r.LastLoss {
		t.Errorf("loss %v -> %v: want finite and changed", r.FirstLoss, r.LastLoss)
	}
}

// TestBenchConvirtBF16: the split step under bf16 computes the loss the
// one-graph step under bf16 does (the same casts in both), and records the
// precision and layout.
func TestBenchConvirtBF16(t *testing.T) {
	skipWithoutBF16(t)
	var r convirtResult
	benchJSON(t, &r, "bench", "convirt", "--image", "smallcnn", "--text", "tiny", "--batch", "4", "--size", "32",
		"--text-len", "8", "--steps", "2", "--warmup", "1", "--threads", "1", "--inprocess", "--precision", "bf16", "--channels-last", "--json")
	if r.Precision != "bf16" || !r.ChannelsLast {
		t.Errorf("record: precision %q, channels_last %v", r.Precision, r.ChannelsLast)
	}
	if r.InProcess == nil || r.LastLoss == 0 || !near(r.LastLoss, r.InProcess.LastLoss, 1e-4) {
		t.Errorf("last loss: split %v, in-process %+v", r.LastLoss, r.InProcess)
	}
}
