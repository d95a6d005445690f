package convirt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// alike repeats one random row n times: a batch whose pairs an encoder
// cannot tell apart.
func alike(r *rand.Rand, n, d int) []float64 {
	return slices.Repeat(randMat(r, d), n)
}

// TestChanceIsTheLossOfAlikePairs: the chance level the loss reports is
// ln N, and it is what the loss comes to when every image and every text
// embedding of the batch is the same (an encoder that has learnt nothing).
func TestChanceIsTheLossOfAlikePairs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 6, 5
	l := mustNew(t, 0.1, 0.75)
	alikeRes, err := l.Compute(mat(t, tensor.Float64, n, d, alike(r, n, d)), mat(t, tensor.Float64, n, d, alike(r, n, d)))
	if err != nil {
		t.Fatal(err)
	}
	if alikeRes.Chance != math.Log(n) || math.Abs(alikeRes.Loss-alikeRes.Chance) > 1e-12 {
		t.Fatalf("alike pairs: loss %v, chance %v, want both ln %d = %v", alikeRes.Loss, alikeRes.Chance, n, math.Log(n))
	}
	res, err := l.Compute(mat(t, tensor.Float64, n, d, randMat(r, n*d)), mat(t, tensor.Float64, n, d, randMat(r, n*d)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Chance != math.Log(n) {
		t.Fatalf("chance %v on a random batch, want ln %d", res.Chance, n)
	}
}
