package gloria

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChanceIsTheLossOfAlikePairs: GLoRIA's chance level is its four
// cross-entropies over the batch, (global_weight + local_weight) * 2 ln B,
// and that is its loss when every image (pooled and map) and every report
// (pooled and tokens) of the batch is the same.
func TestChanceIsTheLossOfAlikePairs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	c := smallConfig()
	c.GlobalWeight, c.LocalWeight = 1, 0.5
	b := &batch{v: slices.Repeat(randVals(r, nP), nB), u: slices.Repeat(randVals(r, nP), nB),
		img: slices.Repeat(randVals(r, nC*nH*nW), nB), tok: slices.Repeat(randVals(r, nT*nD), nB),
		mask: slices.Repeat([]float64{1, 1, 1, 0}, nB)}
	res, err := mustNew(t, c).ComputeLocal(b.inputs(t))
	if err != nil {
		t.Fatal(err)
	}
	want := 1.5 * 2 * math.Log(nB)
	if res.Chance != want || math.Abs(res.Loss-want) > 1e-6 {
		t.Fatalf("alike pairs: loss %v, chance %v, want both %v", res.Loss, res.Chance, want)
	}
}
