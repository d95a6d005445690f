// Package finetune provides the classification head of the fine-tuning
// protocol. During fine-tuning the evaluator plays the loss's role across
// the plugin boundary: the image encoder returns features, the head computes
// the classification loss (sigmoid + binary cross-entropy per label,
// unknown labels ignored, or softmax cross-entropy), returns the gradient
// with respect to the features for the encoder to back-propagate, and steps
// its own weights with Adam.
package finetune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/internal/adam"
	"github.com/convirt/convirt/plugins/sdk/jsonstate"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Config sets the head and its optimiser.
type Config struct {
	// Task is linear.Binary, linear.MultiLabel or linear.MultiClass.
	Task linear.Task `json:"task"`
	// In is the feature dimension, Out the number of labels or classes.
	In  int `json:"in"`
	Out int `json:"out"`
	// LR, Beta1, Beta2, Eps and WeightDecay configure Adam (weight decay
	// added to the gradient, as torch.optim.Adam does).
	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
	// Seed initialises the weights as torch.nn.Linear does, uniform in
	// +-1/sqrt(In).
	Seed uint64 `json:"seed"`
}

// DefaultConfig returns Adam with lr 1e-4 and PyTorch's constants for a
// head of the given shape.
func DefaultConfig(task linear.Task, in, out int) Config {
	return Config{Task: task, In: in, Out: out, LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Validate checks the fields, naming the one at fault.
func (c Config) Validate() error {
	switch {
	case c.Task != linear.Binary && c.Task != linear.MultiLabel && c.Task != linear.MultiClass:
		return fmt.Errorf("finetune: task %q is not binary, multilabel or multiclass", c.Task)
	case c.In < 1 || c.Out < 1:
		return fmt.Errorf("finetune: in and out must be >= 1, got %d and %d", c.In, c.Out)
	case c.Task == linear.Binary && c.Out != 1:
		return fmt.Errorf("finetune: a binary head has out = 1, got %d", c.Out)
	case c.Task == linear.MultiClass && c.Out < 2:
		return fmt.Errorf("finetune: a multi-class head needs out >= 2, got %d", c.Out)
	case !(c.LR >= 0) || !(c.WeightDecay >= 0) || !(c.Eps > 0):
		return fmt.Errorf("finetune: lr, weight_decay must be >= 0 and eps > 0 (got %v, %v, %v)", c.LR, c.WeightDecay, c.Eps)
	case !(c.Beta1 >= 0 && c.Beta1 < 1 && c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("finetune: beta1 and beta2 must be in [0, 1), got %v and %v", c.Beta1, c.Beta2)
	}
	return nil
}

// Targets are the labels of one batch: Y (N x Out, 1/0/NaN) for binary and
// multi-label heads, Class (N indices) for multi-class ones.
type Targets struct {
	Y     [][]float64
	Class []int
}

// Result is one evaluation of the head's loss.
type Result struct {
	// Loss is the mean loss over known labels (sigmoid) or examples.
	Loss float64
	// GradFeatures is dLoss/dfeatures, with the features' shape and dtype.
	GradFeatures *tensor.Tensor
	// Scores are the probabilities (sigmoid or softmax), N x Out.
	Scores [][]float32
}

// Head is a linear classification head with its Adam state. It is safe for
// concurrent use.
type Head struct {
	cfg Config

	mu sync.Mutex
	st state
}

// New validates cfg and returns a freshly initialised head.
func New(cfg Config) (*Head, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	bound := 1 / math.Sqrt(float64(cfg.In))
	n := cfg.Out*cfg.In + cfg.Out
	h := &Head{cfg: cfg, st: state{Header: jsonstate.Header{Version: stateVersion}, Params: make([]float64, n),
		State: adam.State[[]float64]{Grad: make([]float64, n), M: make([]float64, n), V: make([]float64, n)}}}
	for i := range h.st.Params {
		h.st.Params[i] = (2*r.Float64() - 1) * bound
	}
	return h, nil
}

// Compute evaluates the loss on a batch of features (N x In, float32 or
// float64) and returns its gradient with respect to them. The gradient with
// respect to the head's own weights is added to what the next Step applies.
func (h *Head) Compute(features *tensor.Tensor, t Targets) (*Result, error) {
	n, x, err := h.matrix(features)
	if err != nil {
		return nil, err
	}
	d := h.cfg.In
	if err := h.checkTargets(n, t); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.cfg.Out
	w := h.st.Params[:k*d]
	z := h.logits(x, n)
	loss, count, scores := residuals(h.cfg.Task, z, k, t)
	if count == 0 {
		return nil, fmt.Errorf("finetune: batch has no known labels")
	}
	inv := 1 / float64(count)
	gx := make([]float64, n*d)
	gw, gb := h.st.Grad[:k*d], h.st.Grad[k*d:]
	for i := 0; i < n; i++ {
		xi, gxi := x[i*d:(i+1)*d], gx[i*d:(i+1)*d]
		for c := 0; c < k; c++ {
			r := z[i*k+c] * inv
			if r == 0 {
				continue
			}
			wc, gwc := w[c*d:(c+1)*d], gw[c*d:(c+1)*d]
			for j := range xi {
				gxi[j] += r * wc[j]
				gwc[j] += r * xi[j]
			}
			gb[c] += r
		}
	}
	h.st.Pending = true
	return &Result{Loss: loss * inv, GradFeatures: vec.Tensor(features.DType, n, d, gx), Scores: scores}, nil
}

func (h *Head) checkTargets(n int, t Targets) error {
	if h.cfg.Task == linear.MultiClass {
		if len(t.Class) != n {
			return fmt.Errorf("finetune: %d classes for %d examples", len(t.Class), n)
		}
		for i, c := range t.Class {
			if c < 0 || c >= h.cfg.Out {
				return fmt.Errorf("finetune: example %d: class %d outside [0, %d)", i, c, h.cfg.Out)
			}
		}
		return nil
	}
	if len(t.Y) != n {
		return fmt.Errorf("finetune: %d label rows for %d examples", len(t.Y), n)
	}
	for i, row := range t.Y {
		if len(row) != h.cfg.Out {
			return fmt.Errorf("finetune: example %d has %d labels, want %d", i, len(row), h.cfg.Out)
		}
		for j, y := range row {
			if y != 0 && y != 1 && !math.IsNaN(y) {
				return fmt.Errorf("finetune: example %d label %d is %v, want 0, 1 or NaN", i, j, y)
			}
		}
	}
	return nil
}

// residuals replaces the logits z by dLoss/dz (before averaging) and
// returns the summed loss, the number of terms and the probabilities.
func residuals(task linear.Task, z []float64, k int, t Targets) (float64, int, [][]float32) {
	n := len(z) / k
	scores := make([][]float32, n)
	var loss float64
	var count int
	for i := 0; i < n; i++ {
		zi := z[i*k : (i+1)*k]
		scores[i] = make([]float32, k)
		if task == linear.MultiClass {
			lse := vec.LogSumExp(zi)
			loss += lse - zi[t.Class[i]]
			count++
			for c, v := range zi {
				p := math.Exp(v - lse)
				scores[i][c] = float32(p)
				if c == t.Class[i] {
					p--
				}
				zi[c] = p
			}
			continue
		}
		for c, v := range zi {
			p := 1 / (1 + math.Exp(-v))
			scores[i][c] = float32(p)
			y := t.Y[i][c]
			if math.IsNaN(y) {
				zi[c] = 0
				continue
			}
			loss += math.Max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))) - y*v
			count++
			zi[c] = p - y
		}
	}
	return loss, count, scores
}
