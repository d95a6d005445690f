// Package vec holds the small vector helpers the evaluators share.
package vec

import (
	"fmt"
	"math"
)

// Normalize returns x / ||x||_2 in float64. It errors on an empty, zero or
// non-finite vector, naming it with what.
func Normalize(x []float32, what string) ([]float64, error) {
	if len(x) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	n := math.Sqrt(s)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, fmt.Errorf("%s has norm %v", what, n)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) / n
	}
	return out, nil
}

// Dot is the inner product of two equally long vectors.
func Dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// MaxSumExp returns the largest of z and the sum of exp(v - m) over z: the
// parts of a numerically stable softmax (exp(v-m)/s) and log-sum-exp
// (m + log s).
func MaxSumExp[F float32 | float64](z []F) (m, s float64) {
	m = math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return m, s
}

// LogSumExp is log(sum(exp(z))), computed stably.
func LogSumExp[F float32 | float64](z []F) float64 {
	m, s := MaxSumExp(z)
	return m + math.Log(s)
}
