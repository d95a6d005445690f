package runs

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// steps lists (step, value) of key's history in ms.
func steps(ms []Metric, key string) []float64 {
	var out []float64
	for _, m := range History(ms, key) {
		out = append(out, float64(m.Step), m.Value)
	}
	return out
}

// TestRewindVoidsTheAbandonedAttempt: an attempt that ran to step 5 is
// abandoned; the next resumes from step 3's checkpoint and stops at step 4
// (early stopping, say). The history and the final value are the second
// attempt's: step 5 is not kept from the first. Values at steps up to 3,
// and those at step 0 (evaluations), are kept. A rewind to -1 (a restart
// from scratch) voids everything before it. A fresh reader of the same file
// agrees, and the file keeps every line.
func TestRewindVoidsTheAbandonedAttempt(t *testing.T) {
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := func(key string, step int64, v float64) {
		t.Helper()
		if err := r.LogMetric(key, v, step); err != nil {
			t.Fatal(err)
		}
	}
	log("eval/auc", 0, 0.7)
	for s := int64(1); s <= 5; s++ {
		log("train/loss", s, 10-float64(s))
	}
	if err := r.Rewind(3); err != nil {
		t.Fatal(err)
	}
	log("train/loss", 4, 0.5)
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := steps(ms, "train/loss"), []float64{1, 9, 2, 8, 3, 7, 4, 0.5}; !slices.Equal(got, want) {
		t.Errorf("history after rewind to 3: %v, want %v", got, want)
	}
	if f := Final(ms)["train/loss"]; f.Step != 4 || f.Value != 0.5 {
		t.Errorf("final train/loss %+v, want step 4 value 0.5 (step 5 was the abandoned attempt's)", f)
	}
	if f, ok := Final(ms)["eval/auc"]; !ok || f.Value != 0.7 {
		t.Errorf("eval/auc at step 0 was voided by a rewind to step 3: %+v", f)
	}

	if err := r.Rewind(-1); err != nil {
		t.Fatal(err)
	}
	log("train/loss", 1, 1.5)
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	ms, err = ReadMetrics(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := steps(ms, "train/loss"), []float64{1, 1.5}; !slices.Equal(got, want) || len(ms) != 1 {
		t.Errorf("after rewind to -1: train/loss %v (want %v), %d values in all (want 1)", got, want, len(ms))
	}
	b, err := os.ReadFile(r.Path(MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n"+`{"rewind":3,"time":"`) || !strings.Contains(string(b), "\n"+`{"rewind":-1,"time":"`) {
		t.Errorf("metrics.jsonl lacks the markers as docs/tracking.md gives them:\n%s", b)
	}
	if n := strings.Count(string(b), "\n"); n != 10 {
		t.Errorf("metrics.jsonl has %d lines, want all 10 (8 values, 2 markers): nothing is deleted", n)
	}
	if err := r.Rewind(-2); err == nil || !strings.Contains(err.Error(), "rewind to step -2") {
		t.Errorf("Rewind(-2): %v, want an error naming the step", err)
	}
}

// TestReadMetricsRefusesBadRewinds: a marker that is also a value, or that
// rewinds below -1, is an error naming the file's line; a value whose key
// mentions "rewind" is a value; a marker cut short by a crash is skipped.
func TestReadMetricsRefusesBadRewinds(t *testing.T) {
	for _, c := range []struct {
		name, lines, want string
		n                 int
	}{
		{"key and rewind", `{"key":"a","value":1,"step":1}` + "\n" + `{"key":"a","rewind":0}` + "\n", `metrics.jsonl:2: a line with both "rewind" and "key"`, 0},
		{"below -1", `{"rewind":-3}` + "\n", "metrics.jsonl:1: rewind to step -3", 0},
		{"not a number", `{"rewind":"x"}` + "\n", "metrics.jsonl:1: json", 0},
		{"key named rewind", `{"key":"\"rewind\"","value":1,"step":2}` + "\n", "", 1},
		{"cut marker", `{"key":"a","value":1,"step":2}` + "\n" + `{"rewind":`, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(dir+"/"+MetricsFile, []byte(c.lines), 0o644); err != nil {
				t.Fatal(err)
			}
			ms, err := ReadMetrics(dir)
			switch {
			case c.want == "" && (err != nil || len(ms) != c.n):
				t.Errorf("read %d values, err %v; want %d, no error", len(ms), err, c.n)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}
