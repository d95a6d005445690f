package linear

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// objective is the regularised mean loss of a linear layer on one
// (standardised) split. Parameters θ are laid out as W (K x D, row-major)
// followed by the bias b (K).
type objective struct {
	task Task
	x    Matrix  // N x D standardised features
	y    Matrix  // N x K targets (binary, multi-label)
	cls  []int   // N classes (multi-class)
	k, d int     // outputs, features
	wd   float64 // weight decay on W (not b)

	w32 []float32 // K x D scratch copy of W
	z   []float32 // N x K logits, then dL/dz
	g32 []float32 // K x D gradient of W
}

func newObjective(task Task, s Split, k int, wd float64) *objective {
	return &objective{
		task: task, x: s.X, y: s.Y, cls: s.Class, k: k, d: s.X.Cols, wd: wd,
		w32: make([]float32, k*s.X.Cols),
		z:   make([]float32, s.X.Rows*k),
		g32: make([]float32, k*s.X.Cols),
	}
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
	var loss float64
	var count int
	if n > 0 {
		o.logits(theta)
		loss, count = o.residuals()
	}
	scale := 0.0
	if count > 0 {
		scale = 1 / float64(count)
	}
	loss *= scale
	var reg float64
	for _, w := range theta[:o.k*o.d] {
		reg += w * w
	}
	loss += 0.5 * o.wd * reg
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
			grad[i] = float64(g) * scale
		}
		gb := grad[o.k*o.d:]
		for i := 0; i < n; i++ {
			for j := 0; j < o.k; j++ {
				gb[j] += float64(o.z[i*o.k+j]) * scale
			}
		}
	}
	for i, w := range theta[:o.k*o.d] {
		grad[i] += o.wd * w
	}
	return loss
}

// residuals turns the logits in o.z into dL/dz (unnormalised) in place and
// returns the summed loss and the number of terms it sums: known labels for
// sigmoid tasks, examples for softmax.
func (o *objective) residuals() (float64, int) {
	var loss float64
	var count int
	n, k := o.x.Rows, o.k
	if o.task == MultiClass {
		for i := 0; i < n; i++ {
			z := o.z[i*k : (i+1)*k]
			m := math.Inf(-1)
			for _, v := range z {
				m = math.Max(m, float64(v))
			}
			var s float64
			for _, v := range z {
				s += math.Exp(float64(v) - m)
			}
			lse := m + math.Log(s)
			loss += lse - float64(z[o.cls[i]])
			for j := range z {
				p := math.Exp(float64(z[j]) - lse)
				if j == o.cls[i] {
					p--
				}
				z[j] = float32(p)
			}
			count++
		}
		return loss, count
	}
	for i, zf := range o.z {
		y := float64(o.y.Data[i])
		if math.IsNaN(y) {
			o.z[i] = 0
			continue
		}
		z := float64(zf)
		// softplus(z) - y z, computed stably.
		loss += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y*z
		o.z[i] = float32(sigmoid(z) - y)
		count++
	}
	return loss, count
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
