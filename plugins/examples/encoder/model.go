package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// model is the network: pool -> ReLU layer (the features) -> linear layer
// (the projection). Weights are row-major: W1 is Hidden x In, W2 is
// Out x Hidden, with In = Grid*Grid.
type model struct {
	Grid   int `json:"grid"`
	In     int `json:"in"`
	Hidden int `json:"hidden"`
	Out    int `json:"out"`

	W1 []float32 `json:"w1"`
	B1 []float32 `json:"b1"`
	W2 []float32 `json:"w2"`
	B2 []float32 `json:"b2"`
}

// grads holds accumulated gradients, shaped like the model's parameters.
type grads struct {
	W1, B1, W2, B2 []float32
}

// newModel initialises a model from seed: He-normal for the ReLU layer,
// Glorot-normal for the projection, zero biases. The same seed gives the
// same weights, which is what makes runs repeatable.
func newModel(grid, hidden, out int, seed uint64) *model {
	in := grid * grid
	m := &model{Grid: grid, In: in, Hidden: hidden, Out: out,
		W1: make([]float32, hidden*in), B1: make([]float32, hidden),
		W2: make([]float32, out*hidden), B2: make([]float32, out)}
	rng := rand.New(rand.NewPCG(seed, 0x6d65616e706f6f6c)) // "meanpool"
	s1 := math.Sqrt(2 / float64(in))
	for i := range m.W1 {
		m.W1[i] = float32(rng.NormFloat64() * s1)
	}
	s2 := math.Sqrt(2 / float64(hidden+out))
	for i := range m.W2 {
		m.W2[i] = float32(rng.NormFloat64() * s2)
	}
	return m
}

// zeroGrads returns zero gradients shaped like m's parameters.
func (m *model) zeroGrads() grads {
	return grads{W1: make([]float32, len(m.W1)), B1: make([]float32, len(m.B1)),
		W2: make([]float32, len(m.W2)), B2: make([]float32, len(m.B2))}
}

// pool averages every image of a (N,C,H,W) float32 batch over its channels
// and over the cells of a grid x grid partition of its pixels (adaptive
// average pooling, as torch's AdaptiveAvgPool2d splits them), returning the
// (N, grid*grid) means and N.
func pool(images *tensor.Tensor, grid int) ([]float32, int, error) {
	if images == nil {
		return nil, 0, errors.New("the batch has no images")
	}
	if len(images.Shape) != 4 {
		return nil, 0, fmt.Errorf("images have shape %v, want (N,C,H,W)", images.Shape)
	}
	px, err := images.Float32s()
	if err != nil {
		return nil, 0, fmt.Errorf("images: %w", err)
	}
	n, c, h, w := int(images.Shape[0]), int(images.Shape[1]), int(images.Shape[2]), int(images.Shape[3])
	if n < 1 || c < 1 || h < 1 || w < 1 {
		return nil, 0, fmt.Errorf("images have shape %v: every dimension must be at least 1", images.Shape)
	}
	out := make([]float32, n*grid*grid)
	for i := range n {
		img := px[i*c*h*w : (i+1)*c*h*w]
		for gy := range grid {
			y0, y1 := gy*h/grid, ((gy+1)*h+grid-1)/grid
			for gx := range grid {
				x0, x1 := gx*w/grid, ((gx+1)*w+grid-1)/grid
				var sum float64
				for ch := range c {
					plane := img[ch*h*w : (ch+1)*h*w]
					for y := y0; y < y1; y++ {
						for _, v := range plane[y*w+x0 : y*w+x1] {
							sum += float64(v)
						}
					}
				}
				out[(i*grid+gy)*grid+gx] = float32(sum / float64(c*(y1-y0)*(x1-x0)))
			}
		}
	}
	return out, n, nil
}

// activations are what one forward pass computed, kept for its backward.
type activations struct {
	N int
	X []float32 // N x In, the pooled input
	H []float32 // N x Hidden, the features (after the ReLU)
	Z []float32 // N x Out, the projection
}

// forward runs the network on n pooled inputs x.
func (m *model) forward(x []float32, n int) activations {
	a := activations{N: n, X: x, H: make([]float32, n*m.Hidden), Z: make([]float32, n*m.Out)}
	for i := range n {
		xi, hi := x[i*m.In:(i+1)*m.In], a.H[i*m.Hidden:(i+1)*m.Hidden]
		for j := range m.Hidden {
			s := m.B1[j] + dot(m.W1[j*m.In:(j+1)*m.In], xi)
			hi[j] = max(s, 0)
		}
		zi := a.Z[i*m.Out : (i+1)*m.Out]
		for o := range m.Out {
			zi[o] = m.B2[o] + dot(m.W2[o*m.Hidden:(o+1)*m.Hidden], hi)
		}
	}
	return a
}

// backward adds to g the gradients of the loss, given dOut, its gradient
// with respect to the projection (projected) or to the features (not
// projected) of the forward pass a.
func (m *model) backward(a activations, dOut []float32, projected bool, g *grads) {
	dh := make([]float32, a.N*m.Hidden)
	if projected {
		for i := range a.N {
			hi, dzi, dhi := a.H[i*m.Hidden:(i+1)*m.Hidden], dOut[i*m.Out:(i+1)*m.Out], dh[i*m.Hidden:(i+1)*m.Hidden]
			for o, dz := range dzi {
				if dz == 0 {
					continue
				}
				g.B2[o] += dz
				axpy(dz, hi, g.W2[o*m.Hidden:(o+1)*m.Hidden])
				axpy(dz, m.W2[o*m.Hidden:(o+1)*m.Hidden], dhi)
			}
		}
	} else {
		copy(dh, dOut)
	}
	for i := range a.N {
		xi := a.X[i*m.In : (i+1)*m.In]
		for j := range m.Hidden {
			d := dh[i*m.Hidden+j]
			if d == 0 || a.H[i*m.Hidden+j] <= 0 { // the ReLU passes no gradient where it is off
				continue
			}
			g.B1[j] += d
			axpy(d, xi, g.W1[j*m.In:(j+1)*m.In])
		}
	}
}

// sgd takes one plain SGD step, with L2 weight decay on the weights (not the
// biases), and zeroes g.
func (m *model) sgd(g *grads, lr, weightDecay float64) {
	step := func(p, d []float32, wd float64) {
		for i := range p {
			p[i] -= float32(lr * (float64(d[i]) + wd*float64(p[i])))
			d[i] = 0
		}
	}
	step(m.W1, g.W1, weightDecay)
	step(m.B1, g.B1, 0)
	step(m.W2, g.W2, weightDecay)
	step(m.B2, g.B2, 0)
}

// dot is the inner product of two equal-length vectors.
func dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy adds alpha*x to y.
func axpy(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}
