package experiment

import (
	"slices"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

// TestAttemptRecorderRewinds: the recorder pretraining gives core/train
// leaves a new run's first attempt alone; a later attempt from step 4
// voids the values logged past it, one from scratch (step 0) voids every
// earlier value, evaluations' included, and each logs the restarts count
// again at the step it starts from, since the rewind may have voided it.
// A resumed run (--resume) rewinds on its first attempt too.
func TestAttemptRecorderRewinds(t *testing.T) {
	type logged struct {
		key  string
		step int64
		v    float64
	}
	read := func(t *testing.T, run *runs.Run) []logged {
		t.Helper()
		if err := run.Sync(); err != nil {
			t.Fatal(err)
		}
		ms, err := runs.ReadMetrics(run.Dir())
		if err != nil {
			t.Fatal(err)
		}
		var out []logged
		for _, m := range ms {
			out = append(out, logged{m.Key, m.Step, m.Value})
		}
		return out
	}
	newSession := func(t *testing.T, resume bool) (*session, *runs.Run) {
		run, err := runs.Create(t.TempDir(), "e", runs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := &session{run: run, tracker: runs.Multi{run}}
		if resume {
			s.opt.Resume = run.Dir()
		}
		return s, run
	}

	s, run := newSession(t, false)
	restarts := 0
	rec := &attemptRecorder{session: s, restarts: &restarts}
	step := func(from int64, n int, v float64) {
		t.Helper()
		if err := rec.Rewind(from); err != nil {
			t.Fatal(err)
		}
		for i := from + 1; i <= from+int64(n); i++ {
			if err := rec.LogMetric("train/loss", v, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rec.LogMetric("eval/auc", 0.7, 0); err != nil {
		t.Fatal(err)
	}
	step(0, 6, 1) // the first attempt: steps 1-6
	restarts = 1
	step(4, 1, 2) // resumed from step 4's checkpoint: step 5 only
	want := []logged{{"eval/auc", 0, 0.7}, {"train/loss", 1, 1}, {"train/loss", 2, 1}, {"train/loss", 3, 1}, {"train/loss", 4, 1},
		{"train/restarts", 4, 1}, {"train/loss", 5, 2}}
	if got := read(t, run); !slices.Equal(got, want) {
		t.Fatalf("after a resume from step 4:\n got %v\nwant %v", got, want)
	}
	restarts = 2
	step(0, 1, 3) // from scratch
	want = []logged{{"train/restarts", 0, 2}, {"train/loss", 1, 3}}
	if got := read(t, run); !slices.Equal(got, want) {
		t.Fatalf("after a restart from scratch:\n got %v\nwant %v", got, want)
	}

	s, run = newSession(t, true)
	if err := s.LogMetric("train/loss", 9, 7); err != nil { // the killed attempt's
		t.Fatal(err)
	}
	restarts = 0
	rec = &attemptRecorder{session: s, restarts: &restarts}
	step(5, 1, 4)
	if got, want := read(t, run), []logged{{"train/loss", 6, 4}}; !slices.Equal(got, want) {
		t.Fatalf("a --resume from step 5:\n got %v\nwant %v", got, want)
	}
}
