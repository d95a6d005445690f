package caption

import (
	"math"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestChanceIsAUniformGuess: a captioning loss reports ln V, the
// cross-entropy of a uniform guess over its vocabulary of V words (12 in
// smallConfig's), and an untrained decoder starts near it.
func TestChanceIsAUniformGuess(t *testing.T) {
	for name, build := range builders {
		l, err := build(smallConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.ComputeLocal(inputs(t, randImg(1), tensor.Float64))
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Log(12); res.Chance != want || math.Abs(res.Loss-want) > 0.5*want {
			t.Errorf("%s: chance %v, untrained loss %v, want ln 12 = %v and a loss near it", name, res.Chance, res.Loss, want)
		}
	}
}
