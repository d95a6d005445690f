package clip

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChanceIsTheLossOfAlikePairs: the chance level CLIP reports is ln N,
// the loss of a batch whose embeddings are all alike, whatever its learnt
// temperature.
func TestChanceIsTheLossOfAlikePairs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d = 6, 5
	l := newLoss(t, nil)
	v, u := slices.Repeat(randVals(r, d), n), slices.Repeat(randVals(r, d), n)
	res, err := l.Compute(mat(n, d, v), mat(n, d, u))
	if err != nil {
		t.Fatal(err)
	}
	if res.Chance != math.Log(n) || math.Abs(res.Loss-res.Chance) > 1e-9 {
		t.Fatalf("alike pairs: loss %v, chance %v, want both ln %d = %v", res.Loss, res.Chance, n, math.Log(n))
	}
}
