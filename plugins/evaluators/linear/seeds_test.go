package linear

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

func TestRunSeeds(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	full, val, test := synth(r, 1000, 8, 2, 1, false), synth(r, 200, 8, 2, 1, false), synth(r, 500, 8, 2, 1, false)
	var asked []uint64
	subset := func(seed uint64) (Split, error) {
		asked = append(asked, seed)
		sr := rand.New(rand.NewPCG(seed, 0))
		idx := sr.Perm(full.X.Rows)[:100] // a 10% subset
		s := Split{X: Matrix{100, 8, nil}, Y: Matrix{100, 2, nil}}
		for _, i := range idx {
			s.X.Data = append(s.X.Data, full.X.Row(i)...)
			s.Y.Data = append(s.Y.Data, full.Y.Row(i)...)
		}
		return s, nil
	}
	seeds := []uint64{1, 2, 3, 4, 5}
	sum, err := RunSeeds(context.Background(), seeds, subset, val, test, Config{Task: MultiLabel}, MeanAUC(test), metrics.BootstrapConfig{Seed: 1, Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 5 || len(sum.Values) != 5 || len(sum.Predictions) != 5 {
		t.Fatalf("asked %v, values %v", asked, sum.Values)
	}
	if sum.Mean < 0.85 || sum.Std <= 0 || sum.Std > 0.05 {
		t.Errorf("mean %v std %v values %v", sum.Mean, sum.Std, sum.Values)
	}
	if !(sum.CI.Lo < sum.Mean && sum.Mean < sum.CI.Hi) {
		t.Errorf("interval %+v does not hold the mean %v", sum.CI, sum.Mean)
	}
}

// TestDegenerateProbe: constant test scores for a label whose test labels
// hold both classes are an error naming the seed and the label; a label
// with one class in the test split has no AUC and is not checked.
func TestDegenerateProbe(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	train, val := synth(r, 200, 4, 2, 0, false), synth(r, 100, 4, 2, 0, false)
	// Identical test rows: every probe scores them alike.
	test := Split{X: Matrix{6, 4, make([]float32, 24)}, Y: Matrix{6, 2, []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}}, Names: []string{"Edema", "Atelectasis"}}
	subset := func(uint64) (Split, error) { return train, nil }
	_, _, err := TrainSeeds(context.Background(), []uint64{3}, subset, val, test, Config{Task: MultiLabel})
	if !errors.Is(err, ErrDegenerate) || !strings.Contains(err.Error(), "seed 3") || !strings.Contains(err.Error(), `label "Edema"`) {
		t.Errorf("constant scores: err %v", err)
	}
	// Each label with one class in the test split: nothing to rank, no
	// error.
	test.Y.Data = []float32{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}
	if _, _, err := TrainSeeds(context.Background(), []uint64{3}, subset, val, test, Config{Task: MultiLabel}); err != nil {
		t.Errorf("labels with one class in test: %v", err)
	}

	// Scores that vary pass; equal probability vectors of a multi-class
	// probe do not.
	if err := CheckScores(MultiClass, [][]float32{{0.2, 0.8}, {0.2, 0.8}}, Split{}); !errors.Is(err, ErrDegenerate) {
		t.Errorf("multi-class constant: %v", err)
	}
	if err := CheckScores(MultiClass, [][]float32{{0.2, 0.8}, {0.3, 0.7}}, Split{}); err != nil {
		t.Errorf("multi-class varying: %v", err)
	}
	lab := Split{Y: Matrix{3, 1, []float32{1, 0, float32(math.NaN())}}}
	if err := CheckScores(Binary, [][]float32{{0.5}, {0.5}, {0.7}}, lab); !errors.Is(err, ErrDegenerate) || !strings.Contains(err.Error(), "column 0") {
		t.Errorf("scores equal on the known labels: %v", err)
	}
}
