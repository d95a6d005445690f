package finetune

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Config returns the head's configuration.
func (h *Head) Config() Config { return h.cfg }

// logits returns the N x Out logits of the n rows of x; the caller holds
// h.mu.
func (h *Head) logits(x []float64, n int) []float64 {
	k, d := h.cfg.Out, h.cfg.In
	w, b := h.st.Params[:k*d], h.st.Params[k*d:]
	z := make([]float64, n*k)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			z[i*k+c] = b[c] + vec.Dot(w[c*d:(c+1)*d], x[i*d:(i+1)*d])
		}
	}
	return z
}

// matrix reads features and checks their width against the head.
func (h *Head) matrix(features *tensor.Tensor) (int, []float64, error) {
	n, d, x, err := vec.Matrix(features)
	if err != nil {
		return 0, nil, fmt.Errorf("finetune: features: %w", err)
	}
	if d != h.cfg.In {
		return 0, nil, fmt.Errorf("finetune: features have %d columns, head expects %d", d, h.cfg.In)
	}
	return n, x, nil
}

// Predict returns the probabilities (sigmoid per label, or softmax over
// classes), N x Out, of a batch of features. It changes nothing.
func (h *Head) Predict(features *tensor.Tensor) ([][]float32, error) {
	n, x, err := h.matrix(features)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	z := h.logits(x, n)
	h.mu.Unlock()
	k := h.cfg.Out
	scores := make([][]float32, n)
	for i := range scores {
		zi := z[i*k : (i+1)*k]
		scores[i] = make([]float32, k)
		if h.cfg.Task == linear.MultiClass {
			lse := vec.LogSumExp(zi)
			for c, v := range zi {
				scores[i][c] = float32(math.Exp(v - lse))
			}
			continue
		}
		for c, v := range zi {
			scores[i][c] = float32(1 / (1 + math.Exp(-v)))
		}
	}
	return scores, nil
}

// Loss returns the mean loss of a batch, as Compute does, and the
// probabilities, without touching the gradient Step applies. It fails when
// the batch has no known label.
func (h *Head) Loss(features *tensor.Tensor, t Targets) (float64, [][]float32, error) {
	n, x, err := h.matrix(features)
	if err != nil {
		return 0, nil, err
	}
	if err := h.checkTargets(n, t); err != nil {
		return 0, nil, err
	}
	h.mu.Lock()
	z := h.logits(x, n)
	h.mu.Unlock()
	loss, count, scores := residuals(h.cfg.Task, z, h.cfg.Out, t)
	if count == 0 {
		return 0, nil, fmt.Errorf("finetune: batch has no known labels")
	}
	return loss / float64(count), scores, nil
}
