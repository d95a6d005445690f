package benchmarks

import (
	"strings"
	"testing"
)

func TestBenchDataSynth(t *testing.T) {
	var r dataResult
	errOut := benchJSON(t, &r, "bench", "data", "--synth", "10", "--synth-width", "64", "--synth-height", "80", "--size", "32",
		"--batch", "2", "--batches", "2", "--workers", "1", "--augment", "--inprocess", "--json")
	if r.SourceSize != "64x80" || r.Images == 0 || r.FileMB <= 0 || r.DecodeSec <= 0 || !r.Augment {
		t.Errorf("record: %+v", r)
	}
	if r.SecPerStep <= 0 || r.InProcess == nil || r.InProcess.ItemsPerSec <= 0 || r.Overhead == nil {
		t.Errorf("timings: %+v", r)
	}
	if !strings.Contains(errOut, "JPEGs of 64x80") {
		t.Errorf("stderr %q", errOut)
	}
	if code, _, _ := runCLI(t, "bench", "data", "--root", "x", "--synth", "10"); code != 2 {
		t.Errorf("--root with --synth: exit %d, want 2", code)
	}
}

func TestBenchDataPrepared(t *testing.T) {
	var r dataResult
	errOut := benchJSON(t, &r, "bench", "data", "--synth", "10", "--synth-width", "120", "--synth-height", "144", "--size", "32",
		"--prepare", "--prepare-size", "48", "--prepared", "required",
		"--batch", "2", "--batches", "1", "--workers", "1", "--augment", "--json")
	if r.Prepared != "required" || r.PreparedSize != 48 || r.PreparedDecodeSec <= 0 || r.PrepareRate <= 0 || r.ItemsPerSec <= 0 {
		t.Errorf("record: %+v", r)
	}
	if !strings.Contains(errOut, "prepared") {
		t.Errorf("stderr %q", errOut)
	}
	// Without a cache, required fails in the plugin's Configure.
	code, _, stderr := runCLI(t, "bench", "data", "--synth", "10", "--synth-width", "32", "--synth-height", "32", "--size", "32",
		"--prepared", "required", "--batch", "2", "--batches", "1", "--workers", "1")
	if code != 1 || !strings.Contains(stderr, "convirt data prepare") {
		t.Errorf("required without a cache: exit %d, %s", code, stderr)
	}
}
