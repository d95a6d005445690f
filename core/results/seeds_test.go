package results

import (
	"math"
	"testing"
)

// TestTQuantile checks Student's t quantiles against a printed table
// (two-sided 95%, i.e. the 0.975 quantile; 0.995 for 99%).
func TestTQuantile(t *testing.T) {
	for _, c := range []struct{ p, df, want float64 }{
		{0.975, 1, 12.706}, {0.975, 2, 4.303}, {0.975, 4, 2.776}, {0.975, 9, 2.262},
		{0.975, 30, 2.042}, {0.995, 4, 4.604}, {0.95, 4, 2.132}, {0.5, 4, 0},
	} {
		got, err := TQuantile(c.p, c.df)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.want) > 5e-4 {
			t.Errorf("t_{%v,%v} = %.4f, table %.3f", c.p, c.df, got, c.want)
		}
	}
	for _, bad := range [][2]float64{{0, 4}, {1, 4}, {0.975, 0}, {0.975, math.NaN()}, {math.NaN(), 4}} {
		if _, err := TQuantile(bad[0], bad[1]); err == nil {
			t.Errorf("TQuantile(%v, %v): no error", bad[0], bad[1])
		}
	}
}

// TestSeedInterval: five values with mean 0.8 and sample std 0.1 give
// 0.8 ± 2.776 · 0.1/√5 = [0.6759, 0.9241].
func TestSeedInterval(t *testing.T) {
	s := 0.1 * math.Sqrt(4.0/2) // ±s at two seeds, 0 at three: sample std 0.1
	iv, err := SeedInterval([]float64{0.8 - s, 0.8, 0.8, 0.8, 0.8 + s}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(iv.Lo-0.67585) > 1e-4 || math.Abs(iv.Hi-0.92415) > 1e-4 {
		t.Errorf("interval %+v, want [0.6759, 0.9241]", iv)
	}
	iv, err = SeedInterval([]float64{0.9, 0.9, 0.9}, 0.95)
	if err != nil || iv.Lo != 0.9 || iv.Hi != 0.9 {
		t.Errorf("identical values: %+v %v", iv, err)
	}
	if _, err := SeedInterval([]float64{0.9}, 0.95); err == nil {
		t.Error("one seed: no error")
	}
	if _, err := SeedInterval([]float64{0.9, 0.8}, 1); err == nil {
		t.Error("level 1: no error")
	}
}
