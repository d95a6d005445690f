package rsna_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/catalog"
)

// fixture writes an RSNA labels file of n patients, a quarter positive,
// some with two boxes (two rows); the images need not exist to index.
func fixture(t *testing.T, n int) string {
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("patientId,x,y,width,height,Target\n")
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012d", i*2654435761, i)
		if i%4 == 0 {
			b.WriteString(id + ",1,2,3,4,1\n")
			if i%8 == 0 {
				b.WriteString(id + ",5,6,7,8,1\n")
			}
		} else {
			b.WriteString(id + ",,,,,0\n")
		}
	}
	if err := os.WriteFile(filepath.Join(root, "stage_2_train_labels.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func open(t *testing.T, root, split string, opts map[string]any) map[string]float32 {
	t.Helper()
	s, err := catalog.OpenOptions("rsna", root, split, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float32{}
	for i := range s.Len() {
		ex, err := s.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Group != ex.ID {
			t.Errorf("%s: group %q, want the patient id", ex.ID, ex.Group)
		}
		out[ex.ID] = ex.Labels[0]
	}
	return out
}

// TestValidIsHeldOutTenPercentOfTrain: with the defaults, test is 15% of
// the patients and valid is the held-out 10% of the training patients
// (recipes/paper/table1.yaml's "held-out 10% of train"), stratified: it
// holds 10% of their positives too. The splits partition the patients.
func TestValidIsHeldOutTenPercentOfTrain(t *testing.T) {
	root := fixture(t, 2000)
	all := open(t, root, "all", nil)
	train, valid, test := open(t, root, "train", nil), open(t, root, "valid", nil), open(t, root, "test", nil)
	if len(train)+len(valid)+len(test) != len(all) || len(all) != 2000 {
		t.Fatalf("train %d + valid %d + test %d != all %d", len(train), len(valid), len(test), len(all))
	}
	for id := range valid {
		if _, ok := train[id]; ok {
			t.Fatalf("%s in train and valid", id)
		}
		if _, ok := test[id]; ok {
			t.Fatalf("%s in valid and test", id)
		}
	}
	if share := float64(len(test)) / float64(len(all)); math.Abs(share-0.15) > 0.03 {
		t.Errorf("test holds %.3f of the patients, want about 0.15", share)
	}
	pool := len(train) + len(valid)
	if want := int(math.Ceil(0.1 * float64(pool))); len(valid) < want || len(valid) > want+1 {
		t.Errorf("valid holds %d of %d training patients, want %d (10%%)", len(valid), pool, want)
	}
	pos := func(m map[string]float32) (n int) {
		for _, v := range m {
			if v == 1 {
				n++
			}
		}
		return n
	}
	if got, want := pos(valid), int(math.Round(0.1*float64(pos(train)+pos(valid)))); got < want || got > want+1 {
		t.Errorf("valid has %d positives, want %d (10%% of the training positives)", got, want)
	}
}

// TestSplitOptions: test_frac 0 and holdout_frac 0 put everyone in train;
// the holdout never moves a patient out of test; bad fractions name the key.
func TestSplitOptions(t *testing.T) {
	root := fixture(t, 500)
	if n := len(open(t, root, "train", map[string]any{"test_frac": 0.0, "holdout_frac": 0.0})); n != 500 {
		t.Errorf("test_frac 0, holdout_frac 0: %d of 500 in train", n)
	}
	if n := len(open(t, root, "valid", map[string]any{"holdout_frac": 0.0})); n != 0 {
		t.Errorf("holdout_frac 0: %d in valid", n)
	}
	test := open(t, root, "test", nil)
	wider := open(t, root, "test", map[string]any{"holdout_frac": 0.3})
	if len(test) != len(wider) {
		t.Errorf("the holdout changed the test set: %d vs %d patients", len(test), len(wider))
	}
	for id := range test {
		if _, ok := wider[id]; !ok {
			t.Errorf("%s left test when holdout_frac changed", id)
		}
	}
	for key, v := range map[string]float64{"test_frac": 1.5, "holdout_frac": 0.6} {
		_, err := catalog.OpenOptions("rsna", root, "train", map[string]any{key: v})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s %v: %v", key, v, err)
		}
	}
}
