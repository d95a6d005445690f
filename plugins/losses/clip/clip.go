// Package clip implements CLIP's symmetric contrastive loss with a learnable
// temperature on libtorch. The logits are exp(s) * norm(v) norm(u)^T, where s
// is the loss's own parameter (the log of the logit scale), initialised to
// log(1/0.07) and kept in [0, log(100)] as CLIP does, so the scale never
// exceeds 100. The loss mixes both cross-entropy directions with weight
// lambda (0.5: symmetric).
//
// Compute returns the loss and its gradients with respect to both embedding
// batches and accumulates dL/ds; Step applies that gradient to s with Adam
// or SGD. State and SetState checkpoint s and the optimiser.
package clip

import (
	"fmt"
	"math"
	"sync"

	"github.com/convirt/convirt/plugins/internal/adam"
	"github.com/convirt/convirt/plugins/losses/infonce"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// Metric names reported in Result.Metrics.
const (
	MetricLossImageToText = infonce.MetricLossImageToText // mean image-to-text cross-entropy
	MetricLossTextToImage = infonce.MetricLossTextToImage // mean text-to-image cross-entropy
	MetricAccImageToText  = infonce.MetricAccImageToText  // top-1 accuracy of the logits' rows
	MetricAccTextToImage  = infonce.MetricAccTextToImage  // top-1 accuracy of the logits' columns
	MetricLogitScale      = "logit_scale"                 // exp(s), the scale used in this call
)

// Result is one evaluation of the loss: what the plugin serves (L, dL/dv
// and dL/du with v's shape and dtype, and as metrics the per-direction
// losses, top-1 accuracies and the logit scale), and the gradient of the
// temperature, which Step applies.
type Result struct {
	sdk.LossResult
	// GradLogScale is dL/ds for the log logit scale s used in this call.
	GradLogScale float64
}

// Loss is CLIP's loss with its learnable temperature. It is safe for
// concurrent use; Compute calls are serialised.
type Loss struct {
	cfg Config

	mu      sync.Mutex
	st      state
	pending bool // a gradient has been accumulated since the last Step
}

// New validates cfg and returns the loss with s = cfg.InitLogScale.
func New(cfg Config) (*Loss, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Loss{cfg: cfg}
	l.st.LogScale = l.clamp(cfg.InitLogScale)
	return l, nil
}

// Config returns the loss's configuration.
func (l *Loss) Config() Config { return l.cfg }

// LogScale returns the current log logit scale s.
func (l *Loss) LogScale() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.LogScale
}

func (l *Loss) clamp(s float64) float64 { return math.Min(math.Max(s, 0), l.cfg.MaxLogScale) }

// Compute evaluates the loss and its gradients for image projections v and
// text projections u: two N x d float32 or float64 tensors of the same dtype,
// where row i of v is paired with row i of u. When the scale is learnable,
// dL/ds is added to the gradient that the next Step applies.
func (l *Loss) Compute(v, u *tensor.Tensor) (*Result, error) {
	n, err := infonce.CheckPair(v, u)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	logScale := l.st.LogScale
	var res *Result
	err = infonce.Run(v, u, func(s *torchx.Scope, vt, ut *ts.Tensor) error {
		st, err := s.Scalar1(tensor.Float64, logScale, true)
		if err != nil {
			return err
		}
		// s is kept in float64; exp(s) is cast to the embeddings' dtype.
		e, err := s.Keep(st.Exp(false))
		if err != nil {
			return fmt.Errorf("exp(logit_scale): %w", err)
		}
		scale, err := s.Keep(e.Totype(vt.DType(), false))
		if err != nil {
			return fmt.Errorf("cast logit scale: %w", err)
		}
		loss, logits, lvu, luv, err := infonce.Forward(s, vt, ut, scale, l.cfg.Lambda)
		if err != nil {
			return err
		}
		value, grads, metrics, err := infonce.Finish(s, loss, logits, lvu, luv, []*ts.Tensor{vt, ut, st}, int(n))
		if err != nil {
			return err
		}
		gs, err := grads[2].Float64s()
		if err != nil {
			return err
		}
		metrics[MetricLogitScale] = math.Exp(logScale)
		res = &Result{LossResult: sdk.LossResult{Loss: value, GradV: grads[0], GradU: grads[1], Metrics: metrics, Chance: math.Log(float64(n))}, GradLogScale: gs[0]}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	if l.cfg.Learnable {
		l.st.Grad += res.GradLogScale
		l.pending = true
	}
	return res, nil
}

// Step applies the gradient accumulated by Compute since the last Step to s
// (Adam or SGD, with the configured learning rate), clamps s to
// [0, MaxLogScale] and clears the gradient. Without a pending gradient, or
// when the scale is not learnable, it does nothing.
func (l *Loss) Step() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cfg.Learnable || !l.pending {
		return nil
	}
	g := l.st.Grad
	if math.IsNaN(g) || math.IsInf(g, 0) {
		return fmt.Errorf("clip: step: gradient of logit_scale is %v", g)
	}
	switch l.cfg.Optimizer {
	case OptimizerSGD:
		l.st.LogScale -= l.cfg.LR * g
	case OptimizerAdam:
		l.st.Steps++
		c := adam.Config{LR: l.cfg.LR, Beta1: l.cfg.Beta1, Beta2: l.cfg.Beta2, Eps: l.cfg.Eps}
		l.st.LogScale = c.At(l.st.Steps).Update(l.st.LogScale, g, &l.st.M, &l.st.V)
	default:
		return fmt.Errorf("clip: step: unknown optimizer %q", l.cfg.Optimizer)
	}
	l.st.LogScale = l.clamp(l.st.LogScale)
	l.st.Grad, l.pending = 0, false
	return nil
}
