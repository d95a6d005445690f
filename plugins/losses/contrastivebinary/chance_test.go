package contrastivebinary

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestChanceIsTheLossOfAlikePairs: the chance level contrastive-binary
// reports (Config.Chance, the constant prediction's loss) is its loss on a
// batch whose embeddings are all alike, centred or not; and it is not
// ln N, which the at-chance warning used before losses reported theirs.
func TestChanceIsTheLossOfAlikePairs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, d = 6, 5
	for _, cfg := range []Config{DefaultConfig(), {Tau: 0.1, NegWeight: 1}, {Tau: 0.5, NegWeight: 2, Bias: -1, Center: true}} {
		// Orthogonal directions: every image-text cosine is 0, centred or not.
		a, b := make([]float64, d), make([]float64, d)
		a[0], b[1] = 1+r.Float64(), 1+r.Float64()
		res, err := mustNew(t, cfg).Compute(mat(t, tensor.Float64, n, d, slices.Repeat(a, n)), mat(t, tensor.Float64, n, d, slices.Repeat(b, n)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Chance != cfg.Chance() || math.Abs(res.Loss-res.Chance) > 1e-9 {
			t.Errorf("%+v: alike pairs' loss %v, chance %v, want both %v", cfg, res.Loss, res.Chance, cfg.Chance())
		}
	}
	if c := DefaultConfig().Chance(); math.Abs(c-math.Log(n)) < 0.5 {
		t.Fatalf("default chance %v is near ln %d: the test cannot tell the two apart", c, n)
	}
}
