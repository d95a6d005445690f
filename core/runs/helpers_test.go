package runs

import (
	"maps"
	"slices"
	"testing"
)

// testRun is a run a test makes through the store's own writers.
type testRun struct {
	exp, name string
	params    map[string]string
	metrics   map[string]float64 // logged at step 1, loss keys also at step 0 with 9
	status    Status             // Running leaves it unfinished
}

// makeRuns creates the runs under root (as a user's relative path, when
// the test has changed into a temporary directory) and returns their
// metadata in order.
func makeRuns(t *testing.T, root string, trs ...testRun) []Meta {
	t.Helper()
	var out []Meta
	for _, tr := range trs {
		r, err := Create(root, tr.exp, Options{Name: tr.name})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogParams(tr.params); err != nil {
			t.Fatal(err)
		}
		for _, k := range slices.Sorted(maps.Keys(tr.metrics)) {
			if k == TrainLossKey || k == ValLossKey {
				if err := r.LogMetric(k, 9, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.LogMetric(k, tr.metrics[k], 1); err != nil {
				t.Fatal(err)
			}
		}
		if tr.status != Running {
			if err := r.Finish(tr.status); err != nil {
				t.Fatal(err)
			}
		} else if err := r.Sync(); err != nil {
			t.Fatal(err)
		}
		m, err := Find(root, r.ID())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// linearAUC is the key of the linear probes' mean AUC for init at fraction.
func linearAUC(init, fraction string) string {
	return "eval/chexpert-linear/linear/" + init + "/f" + fraction + "/auc"
}
