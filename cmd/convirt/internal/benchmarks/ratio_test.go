package benchmarks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/bench"
)

func TestBenchRatio(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	if err := os.WriteFile(a, []byte("log line\n{\"impl\":\"gotch\",\"sec_per_step\":3,\"items_per_sec\":8,\"inprocess\":{\"sec_per_step\":1}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("{\"impl\":\"old\",\"sec_per_step\":9}\n{\"impl\":\"pytorch\",\"sec_per_step\":2,\"items_per_sec\":16,\"inprocess\":{\"sec_per_step\":4}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "bench", "ratio", a, b)
	if code != 0 || !strings.Contains(out, "sec_per_step: gotch 3 / pytorch 2 = 1.500") || !strings.Contains(out, "items_per_sec: gotch 8 / pytorch 16 = 0.500") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	var lines []bench.RatioLine
	benchJSON(t, &lines, "bench", "ratio", "--field", "inprocess.sec_per_step", "--json", a, b)
	if len(lines) != 1 || lines[0].Ratio != 0.25 {
		t.Errorf("nested ratio: %+v", lines)
	}
	benchJSON(t, &lines, "bench", "ratio", "--field", "inprocess.sec_per_step=sec_per_step", "--json", a, b)
	if len(lines) != 1 || lines[0].Ratio != 0.5 || lines[0].Field != "inprocess.sec_per_step=sec_per_step" {
		t.Errorf("cross-field ratio: %+v", lines)
	}
	if code, _, errOut := runCLI(t, "bench", "ratio", "--field", "nope", a, b); code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("missing field: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "bench", "ratio", a); code != 2 {
		t.Errorf("one file: exit %d, want 2", code)
	}
	// Repeated runs: the median (or min) of each file's records.
	c := filepath.Join(dir, "c.json")
	if err := os.WriteFile(c, []byte("{\"impl\":\"gotch\",\"sec_per_step\":1}\n{\"impl\":\"gotch\",\"sec_per_step\":5}\n{\"impl\":\"gotch\",\"sec_per_step\":3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	benchJSON(t, &lines, "bench", "ratio", "--field", "sec_per_step", "--reduce", "median", "--json", c, b)
	if len(lines) != 1 || lines[0].A != 3 || lines[0].B != 5.5 || lines[0].RunsA != 3 || lines[0].RunsB != 2 {
		t.Errorf("median: %+v", lines)
	}
	benchJSON(t, &lines, "bench", "ratio", "--field", "sec_per_step", "--reduce", "min", "--json", c, b)
	if len(lines) != 1 || lines[0].Ratio != 0.5 {
		t.Errorf("min: %+v", lines)
	}
	if code, out, _ := runCLI(t, "bench", "ratio", "--field", "sec_per_step", "--reduce", "median", c, b); code != 0 || !strings.Contains(out, "gotch (median of 3) 3 / pytorch (median of 2) 5.5 = 0.545") {
		t.Errorf("median text: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "bench", "ratio", "--reduce", "mean", c, b); code != 2 || !strings.Contains(errOut, "mean") {
		t.Errorf("bad --reduce: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "bench", "ratio", "--field", "items_per_sec", "--reduce", "median", c, b); code != 1 || !strings.Contains(errOut, "record 1") {
		t.Errorf("field missing in one record: exit %d, %q", code, errOut)
	}
}
