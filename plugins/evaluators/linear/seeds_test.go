package linear

import (
	"context"
	"math/rand/v2"
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
