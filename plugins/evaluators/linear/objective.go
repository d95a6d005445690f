package linear

import (
	"math"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// objective is the L2-regularised loss of a linear layer on one
// (standardised) split. Parameters θ are laid out as W (K x D, row-major)
// followed by the bias b (K).
//
// Sigmoid tasks (binary, multi-label) sum, over the labels, each label's
// mean binary cross-entropy over its known examples plus (l2/2)·||w_l||²:
// every label is then its own logistic regression, with l2 = 1/(C·n) in
// scikit-learn's terms (C the inverse strength, n the label's known
// examples). Multi-class tasks take the mean softmax cross-entropy over the
// examples plus (l2/2)·||W||². The bias is never penalised.
type objective struct {
	task Task
	x    Matrix    // N x D standardised features
	y    Matrix    // N x K targets (binary, multi-label)
	cls  []int     // N classes (multi-class)
	k, d int       // outputs, features
	l2   float64   // L2 strength on W (not b)
	inv  []float64 // sigmoid tasks: 1 / known examples of each label (0 if none)
	used int       // terms averaged: labels with known examples (sigmoid), or 1 (softmax)

	w32 []float32 // K x D scratch copy of W
	z   []float32 // N x K logits, then dL/dz
	g32 []float32 // K x D gradient of W
}

func newObjective(task Task, s Split, k int, l2 float64) *objective {
	o := &objective{
		task: task, x: s.X, y: s.Y, cls: s.Class, k: k, d: s.X.Cols, l2: l2,
		w32: make([]float32, k*s.X.Cols),
		z:   make([]float32, s.X.Rows*k),
		g32: make([]float32, k*s.X.Cols),
	}
	if task == MultiClass {
		if s.X.Rows > 0 {
			o.used = 1
		}
		return o
	}
	o.inv = make([]float64, k)
	known := make([]int, k)
	for i, y := range s.Y.Data {
		if !math.IsNaN(float64(y)) {
			known[i%k]++
		}
	}
	for j, n := range known {
		if n > 0 {
			o.inv[j] = 1 / float64(n)
			o.used++
		}
	}
	return o
}

// dataLoss is the unregularised loss at theta averaged over the terms the
// objective sums: the mean over labels (with known examples) of each
// label's mean binary cross-entropy, or the mean softmax cross-entropy. It
// is NaN when the split has no known label.
func (o *objective) dataLoss(theta []float64) float64 {
	if o.used == 0 {
		return math.NaN()
	}
	return o.data(theta) / float64(o.used)
}

// data returns the unregularised loss at theta, leaving dL/dz in o.z.
func (o *objective) data(theta []float64) float64 {
	if o.x.Rows == 0 {
		return 0
	}
	o.logits(theta)
	return o.residuals()
}

func (o *objective) dim() int { return o.k*o.d + o.k }

// logits fills o.z = X W^T + b.
func (o *objective) logits(theta []float64) {
	for i := range o.w32 {
		o.w32[i] = float32(theta[i])
	}
	n := o.x.Rows
	bias := theta[o.k*o.d:]
	for i := 0; i < n; i++ {
		for j := 0; j < o.k; j++ {
			o.z[i*o.k+j] = float32(bias[j])
		}
	}
	blas32.Gemm(blas.NoTrans, blas.Trans, 1,
		blas32.General{Rows: n, Cols: o.d, Stride: o.d, Data: o.x.Data},
		blas32.General{Rows: o.k, Cols: o.d, Stride: o.d, Data: o.w32},
		1, blas32.General{Rows: n, Cols: o.k, Stride: o.k, Data: o.z})
}

// eval returns the objective at theta and, if grad is non-nil, writes its
// gradient there. With no examples the data term is zero.
func (o *objective) eval(theta, grad []float64) float64 {
	n := o.x.Rows
	loss := o.data(theta)
	var reg float64
	for _, w := range theta[:o.k*o.d] {
		reg += w * w
	}
	loss += 0.5 * o.l2 * reg
	if grad == nil {
		return loss
	}
	for i := range grad {
		grad[i] = 0
	}
	if n > 0 {
		blas32.Gemm(blas.Trans, blas.NoTrans, 1,
			blas32.General{Rows: n, Cols: o.k, Stride: o.k, Data: o.z},
			blas32.General{Rows: n, Cols: o.d, Stride: o.d, Data: o.x.Data},
			0, blas32.General{Rows: o.k, Cols: o.d, Stride: o.d, Data: o.g32})
		for i, g := range o.g32 {
			grad[i] = float64(g)
		}
		gb := grad[o.k*o.d:]
		for i := 0; i < n; i++ {
			for j := 0; j < o.k; j++ {
				gb[j] += float64(o.z[i*o.k+j])
			}
		}
	}
	for i, w := range theta[:o.k*o.d] {
		grad[i] += o.l2 * w
	}
	return loss
}

// residuals turns the logits in o.z into dL/dz in place (each term already
// divided by its label's or the split's count) and returns the data loss.
func (o *objective) residuals() float64 {
	var loss float64
	n, k := o.x.Rows, o.k
	if o.task == MultiClass {
		scale := 1 / float64(n)
		for i := 0; i < n; i++ {
			z := o.z[i*k : (i+1)*k]
			lse := vec.LogSumExp(z)
			loss += (lse - float64(z[o.cls[i]])) * scale
			for j := range z {
				p := math.Exp(float64(z[j]) - lse)
				if j == o.cls[i] {
					p--
				}
				z[j] = float32(p * scale)
			}
		}
		return loss
	}
	for i, zf := range o.z {
		y := float64(o.y.Data[i])
		if math.IsNaN(y) {
			o.z[i] = 0
			continue
		}
		z, w := float64(zf), o.inv[i%k]
		// softplus(z) - y z, computed stably.
		loss += (math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y*z) * w
		o.z[i] = float32((sigmoid(z) - y) * w)
	}
	return loss
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
