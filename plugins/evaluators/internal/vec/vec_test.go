package vec

import (
	"math"
	"testing"
)

// TestLogSumExpStable: large logits neither overflow nor lose the log of
// the count; float32 and float64 inputs agree; MaxSumExp's parts give the
// softmax.
func TestLogSumExpStable(t *testing.T) {
	if got, want := LogSumExp([]float64{1000, 1000}), 1000+math.Log(2); got != want {
		t.Errorf("LogSumExp(1000, 1000) = %v, want %v", got, want)
	}
	if got, want := LogSumExp([]float32{-1000, 0, -1000}), 0.0; math.Abs(got-want) > 1e-12 {
		t.Errorf("LogSumExp(-1000, 0, -1000) = %v, want %v", got, want)
	}
	z := []float64{1, 2, 3}
	z32 := []float32{1, 2, 3}
	if LogSumExp(z) != LogSumExp(z32) {
		t.Error("float32 and float64 logits disagree")
	}
	m, s := MaxSumExp(z)
	if m != 3 || math.Abs(s-(math.Exp(-2)+math.Exp(-1)+1)) > 1e-15 {
		t.Errorf("MaxSumExp = %v, %v", m, s)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(v-m) / s
	}
	if math.Abs(sum-1) > 1e-15 {
		t.Errorf("softmax sums to %v", sum)
	}
}
