package linear

import (
	"context"
	"math/rand/v2"
	"testing"
)

// lowRank makes n examples of d unstandardised features driven by k latent
// factors (fixed loadings, as correlated as an encoder's features) plus
// noise; the first factor's mean differs by sep between the classes, so
// the Bayes AUC is Φ(sep/√2) (0.92 for sep 2). Rows alternate positive and
// negative.
func lowRank(r *rand.Rand, n, d, k int, sep, noise float64) Split {
	a := rand.New(rand.NewPCG(5, 5))
	load := make([]float64, d*k)
	for i := range load {
		load[i] = a.NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]float32, n)
	z := make([]float64, k)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			y[i] = 1
		}
		for c := range z {
			z[c] = r.NormFloat64()
		}
		z[0] += sep * (2*float64(y[i]) - 1) / 2
		for j := 0; j < d; j++ {
			s := 3.0
			for c := range z {
				s += load[j*k+c] * z[c]
			}
			x[i*d+j] = float32(s + noise*r.NormFloat64())
		}
	}
	return Split{X: Matrix{n, d, x}, Y: Matrix{n, 1, y}}
}

// TestHighDimensionalSeparable is the demo's 1% cell in miniature: 44
// training examples of 2048 features (separable, as any 44 points in 2048
// dimensions are), 40 validation and 400 test examples. An unregularised
// probe overfits on its first L-BFGS step, and one that may keep its
// initial weights returns constant scores, AUC 0.5: the old probe did so
// for seed 1. A regularised probe learns on every seed.
func TestHighDimensionalSeparable(t *testing.T) {
	const d = 2048
	for seed := uint64(0); seed < 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 17))
		train, val, test := lowRank(r, 44, d, 8, 2, 1), lowRank(r, 40, d, 8, 2, 1), lowRank(r, 400, d, 8, 2, 1)
		p, err := Train(context.Background(), train, val, Config{Task: Binary})
		if err != nil {
			t.Fatal(err)
		}
		pred, err := p.Predict(test.X)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckScores(Binary, pred, test); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		auc := meanAUC(t, p, test)
		t.Logf("seed %d: l2 %g, test AUC %.3f, path %+v", seed, p.L2, auc, p.Path)
		if auc < 0.8 {
			t.Errorf("seed %d: test AUC %.3f, want >= 0.8 (Bayes 0.92)", seed, auc)
		}
	}
}
