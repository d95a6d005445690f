package stats

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestMeanStd(t *testing.T) {
	m, s, err := MeanStd([]float64{1, 2, 3, 4})
	if err != nil || !near(m, 2.5) || !near(s, math.Sqrt(5.0/3)) {
		t.Errorf("MeanStd = %v, %v (err %v)", m, s, err)
	}
	if m, s, _ := MeanStd([]float64{7}); m != 7 || s != 0 {
		t.Errorf("single value: %v %v", m, s)
	}
	if _, _, err := MeanStd(nil); err == nil {
		t.Error("empty accepted")
	}
}
