// Package contrastivebinary is the ConVIRT paper's Contrastive-Binary-Loss
// baseline (Table 1): the same image and text encoders as ConVIRT, trained
// to classify whether an image-text pair of the batch belongs together
// instead of picking its partner among the batch (InfoNCE). Every pair
// (i, j) of a batch of N is scored by its scaled cosine similarity, matched
// pairs (i = j) are positives and the N(N-1) mismatched ones negatives:
//
//	c_ij = cos(v_i, u_j) - mean_kl cos(v_k, u_l)   (center; else cos(v_i, u_j))
//	s_ij = c_ij / tau + bias
//	L    = mean_i BCE(s_ii, 1) + neg_weight * mean_{i != j} BCE(s_ij, 0)
//
// where BCE is the binary cross-entropy of a logit. With neg_weight 1 the
// positives and the (N - 1 times more numerous) negatives weigh alike.
// Compute returns L with its gradients with respect to v and u.
//
// The defaults (center, bias -4 at tau 0.1: a pair is a match when its
// cosine is more than 0.4 above the batch's mean) are what trains. The
// plain form (center false, bias 0) sat at chance for the whole of the
// 120-step demo (docs/objectives.md): a threshold at a fixed cosine makes a
// shift of every similarity the cheapest move, so the encoders squeezed all
// similarities onto it and collapsed (loss 2 ln 2, every pair alike), and so
// did a fixed negative bias and reweighted negatives. Centred, the loss is
// blind to a common shift, as InfoNCE's softmax is; below the mean's
// threshold every pair starts as "no match" (the prior: N - 1 of a row's N
// pairs are), and the loss falls only by lifting matched pairs above the
// rest. An untrained model's loss (every c_ij alike) is then
// softplus(-bias) + neg_weight * softplus(bias), 4.04 at the defaults.
package contrastivebinary

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/losses/infonce"
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// Config holds the loss's hyper-parameters.
type Config struct {
	Tau       float64 `json:"tau" min:"1e-6" doc:"temperature dividing the cosine similarities (as ConVIRT's)"`
	Bias      float64 `json:"bias" doc:"added to every pair's logit: minus the decision threshold in logit units (-4 at tau 0.1: a cosine 0.4 above the batch's mean, with center)"`
	NegWeight float64 `json:"neg_weight" min:"0" doc:"weight of the mismatched pairs' mean loss beside the matched pairs' (1: both classes weigh alike)"`
	Center    bool    `json:"center" doc:"subtract the batch's mean cosine from every pair's, so that a shift common to all pairs changes nothing (as in InfoNCE)"`
}

// DefaultConfig is ConVIRT's temperature, balanced classes, and the
// similarities centred with the threshold 0.4 above their mean (see the
// package comment for why).
func DefaultConfig() Config { return Config{Tau: 0.1, NegWeight: 1, Center: true, Bias: -4} }

// Chance is the loss of an untrained model, every pair's logit the bias:
// softplus(-bias) + neg_weight * softplus(bias) (without center, when every
// cosine is 0).
func (c Config) Chance() float64 {
	softplus := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	return softplus(-c.Bias) + c.NegWeight*softplus(c.Bias)
}

// Schema is the plugin's config schema, derived from Config's tags with
// DefaultConfig's values.
var Schema = schema.MustDerive(DefaultConfig())

// Spec is the built-in loss plugin "contrastive-binary" (registered under
// its name).
var Spec = lossplugin.Register(lossplugin.Spec[Config]{Name: "contrastive-binary", Version: "0.1.0",
	Description: "the ConVIRT paper's Contrastive-Binary baseline: binary cross-entropy over the batch's matched and mismatched pairs",
	Schema:      Schema, Defaults: DefaultConfig, New: lossplugin.Builds(New)})

// Metric names reported in Result.Metrics.
const (
	MetricLossPos = "loss_pos" // mean BCE of the matched pairs
	MetricLossNeg = "loss_neg" // mean BCE of the mismatched pairs
	MetricAccPos  = "acc_pos"  // matched pairs scored s > 0
	MetricAccNeg  = "acc_neg"  // mismatched pairs scored s <= 0
)

// Loss is the Contrastive-Binary loss. It has no parameters (Step does
// nothing, its state is empty) and is safe for concurrent use.
type Loss struct {
	cfg Config
	lossplugin.Stateless
}

// New validates cfg and returns the loss.
func New(cfg Config) (*Loss, error) {
	if err := schema.ValidateAs("contrastive-binary", cfg); err != nil {
		return nil, err
	}
	return &Loss{cfg: cfg}, nil
}

// weights are the per-entry weights of the N x N BCE terms, row-major:
// 1/N on the diagonal, neg_weight/(N(N-1)) off it (nothing when N = 1),
// and the targets (the identity).
func (l *Loss) weights(n int) (w, target []float64) {
	w, target = make([]float64, n*n), make([]float64, n*n)
	off := 0.0
	if n > 1 {
		off = l.cfg.NegWeight / float64(n*(n-1))
	}
	for i := range n {
		for j := range n {
			if i == j {
				w[i*n+j], target[i*n+j] = 1/float64(n), 1
			} else {
				w[i*n+j] = off
			}
		}
	}
	return w, target
}

// Compute evaluates the loss and its gradients for image projections v and
// text projections u: two N x d float32 or float64 tensors of the same
// dtype, row i of v paired with row i of u.
func (l *Loss) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	n64, err := infonce.CheckPair(v, u)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("contrastive-binary: %w", err)
	}
	n := int(n64)
	w, target := l.weights(n)
	wt, err := tensor.FromFloat64s(v.DType, []int64{n64, n64}, w)
	if err != nil {
		return sdk.LossResult{}, err
	}
	tt, err := tensor.FromFloat64s(v.DType, []int64{n64, n64}, target)
	if err != nil {
		return sdk.LossResult{}, err
	}
	var res sdk.LossResult
	err = infonce.Run(v, u, func(s *torchx.Scope, vt, ut *ts.Tensor) error {
		logits, err := l.logits(s, vt, ut)
		if err != nil {
			return err
		}
		weight, err := s.FromCore(wt, false)
		if err != nil {
			return err
		}
		tgt, err := s.FromCore(tt, false)
		if err != nil {
			return err
		}
		one, err := s.Keep(ts.Ones([]int64{1}, logits.DType(), logits.MustDevice()))
		if err != nil {
			return err
		}
		// Unweighted per-entry terms for the metrics, weighted sum for L.
		terms, err := s.Keep(logits.BinaryCrossEntropyWithLogits(tgt, one, one, 0, false))
		if err != nil {
			return fmt.Errorf("binary cross-entropy: %w", err)
		}
		weighted, err := s.Keep(terms.Mul(weight, false))
		if err != nil {
			return err
		}
		loss, err := s.Keep(weighted.Sum(weighted.DType(), false))
		if err != nil {
			return err
		}
		var grads []*tensor.Tensor
		if res.Loss, grads, err = s.Backward(loss, []*ts.Tensor{vt, ut}); err != nil {
			return err
		}
		res.GradV, res.GradU = grads[0], grads[1]
		res.Metrics, err = metrics(s, logits, terms, n)
		res.Chance = l.cfg.Chance()
		return err
	})
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("contrastive-binary: %w", err)
	}
	return res, nil
}

// logits is s_ij of the package comment, N x N.
func (l *Loss) logits(s *torchx.Scope, v, u *ts.Tensor) (*ts.Tensor, error) {
	cos, err := infonce.Cosines(s, v, u)
	if err != nil {
		return nil, err
	}
	return l.scores(s, cos)
}

// scores is s_ij from the cosines cos_ij: centred when the config says so,
// divided by tau, plus the bias.
func (l *Loss) scores(s *torchx.Scope, cos *ts.Tensor) (*ts.Tensor, error) {
	if l.cfg.Center {
		mean, err := s.Keep(cos.Mean(cos.DType(), false))
		if err != nil {
			return nil, err
		}
		if cos, err = s.Keep(cos.Sub(mean, false)); err != nil {
			return nil, err
		}
	}
	scaled, err := s.Keep(cos.MulScalar(s.Scalar(1/l.cfg.Tau), false))
	if err != nil {
		return nil, err
	}
	return s.Keep(scaled.AddScalar(s.Scalar(l.cfg.Bias), false))
}

// metrics are the mean BCE and the accuracy of each class.
func metrics(s *torchx.Scope, logits, terms *ts.Tensor, n int) (map[string]float64, error) {
	lv, err := s.Float64s(logits)
	if err != nil {
		return nil, err
	}
	tv, err := s.Float64s(terms)
	if err != nil {
		return nil, err
	}
	var lossPos, lossNeg, accPos, accNeg float64
	for i := range n {
		for j := range n {
			k := i*n + j
			if i == j {
				lossPos += tv[k]
				if lv[k] > 0 {
					accPos++
				}
			} else {
				lossNeg += tv[k]
				if lv[k] <= 0 {
					accNeg++
				}
			}
		}
	}
	m := map[string]float64{MetricLossPos: lossPos / float64(n), MetricAccPos: accPos / float64(n)}
	if neg := float64(n * (n - 1)); neg > 0 {
		m[MetricLossNeg], m[MetricAccNeg] = lossNeg/neg, accNeg/neg
	}
	return m, nil
}
