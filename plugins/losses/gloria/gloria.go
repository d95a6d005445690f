// Package gloria is GLoRIA's objective (Huang et al., ICCV 2021) as a loss
// plugin: a global contrastive loss between the pooled image and report
// embeddings, plus a local one in which every word of a report attends over
// the regions of an image's feature map and the report-image similarity
// aggregates how well each word matches its attended region.
//
// For report i and image b, with words w_t (the text encoder's token
// states, [CLS] and padding left out) and regions c_r (the image's local
// map projected to the token size by the loss's own 1x1 projection):
//
//	a_tr  = softmax_t(w_t . c_r)                 (over the words, per region, as GLoRIA's code)
//	α_tr  = softmax_r(temp1 * a_tr)              (each word's attention over regions)
//	z_t   = Σ_r α_tr c_r
//	S_bi  = log Σ_t exp(temp2 * cos(w_t, z_t))   (agg sum; mean divides by the word count)
//	L_loc = CE_rows(temp3 * S) + CE_cols(temp3 * S)
//	L_glb = CE_rows(temp3 * cos(v, u)) + CE_cols(temp3 * cos(v, u))
//	L     = global_weight * L_glb + local_weight * L_loc
//
// Compute returns L and its gradients for the image's projection and map,
// and the report's projection and token states. GLoRIA sums the last four
// BERT layers and merges word pieces into words; here the words are the
// last layer's word pieces (the text encoder's "tokens" output).
package gloria

import (
	"fmt"

	"github.com/convirt/convirt/plugins/losses/infonce"
	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Metric names reported in Result.Metrics.
const (
	MetricGlobal   = "loss_global" // L_glb
	MetricLocal    = "loss_local"  // L_loc
	MetricLocalAcc = "acc_local"   // top-1 image-to-report accuracy of S
)

// Loss is a configured GLoRIA loss with its projection parameters.
type Loss struct {
	cfg  Config
	proj *layers.Linear
	// Params are the projection's parameters with their optimiser; they
	// serve Step, State and SetState.
	*lossparams.Params
}

// New validates cfg and builds the projection of the image's local map.
func New(cfg Config) (*Loss, error) {
	if err := schema.ValidateAs("gloria", cfg); err != nil {
		return nil, err
	}
	l := &Loss{cfg: cfg}
	var err error
	l.Params, err = lossparams.New(cfg.Config, func(root *nn.Path) error {
		l.proj, err = layers.NewLinear(root.Sub("local_proj"), cfg.ImageDim, cfg.TextDim, nil, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gloria: %w", err)
	}
	return l, nil
}

// Compute refuses: GLoRIA needs the local outputs (sdk.LocalLoss).
func (l *Loss) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, fmt.Errorf("gloria: needs the encoders' local outputs (it declares needs %v): the host calls ComputeLocal", *l.cfg.Needs())
}

// Needs is what the configured loss consumes (its image_output).
func (l *Loss) Needs() *sdk.LossNeeds { return l.cfg.Needs() }

var _ lossplugin.LocalLoss = (*Loss)(nil)

// inputs are the checked named inputs.
type inputs struct {
	v, u, img, tok *tensor.Tensor
	valid          []float64 // [B*T], 1 for a word that attends
	b, t           int64
}

func (l *Loss) check(in sdk.LocalInputs) (inputs, error) {
	x := inputs{v: in.Image[sdk.OutputProjection], u: in.Text[sdk.OutputProjection], tok: in.Text[sdk.OutputTokens]}
	mask := in.Text[sdk.OutputTokenMask]
	for name, t := range map[string]*tensor.Tensor{"image " + sdk.OutputProjection: x.v,
		"text " + sdk.OutputProjection: x.u, "text " + sdk.OutputTokens: x.tok, "text " + sdk.OutputTokenMask: mask} {
		if t == nil {
			return x, fmt.Errorf("no %s output given", name)
		}
	}
	n, err := infonce.CheckPair(x.v, x.u)
	if err != nil {
		return x, err
	}
	if x.img, err = l.cfg.Take(in); err != nil {
		return x, err
	}
	if x.img.Shape[0] != n || x.img.DType != x.v.DType {
		return x, fmt.Errorf("image %s: %d maps of %s for %d projections of %s", l.cfg.ImageOutput, x.img.Shape[0], x.img.DType, n, x.v.DType)
	}
	if len(x.tok.Shape) != 3 || x.tok.Shape[0] != n || x.tok.Shape[2] != l.cfg.TextDim || x.tok.DType != x.v.DType {
		return x, fmt.Errorf("text tokens: shape %v %s, want [%d T %d] %s (config text_dim)", x.tok.Shape, x.tok.DType, n, l.cfg.TextDim, x.v.DType)
	}
	x.b, x.t = n, x.tok.Shape[1]
	if len(mask.Shape) != 2 || mask.Shape[0] != n || mask.Shape[1] != x.t {
		return x, fmt.Errorf("text token_mask: shape %v, want [%d %d]", mask.Shape, n, x.t)
	}
	if x.valid, err = mask.Float64s(); err != nil {
		return x, fmt.Errorf("text token_mask: %w", err)
	}
	for i := range n {
		words := 0
		for j := range x.t {
			if l.cfg.SkipCLS && j == 0 || x.valid[i*x.t+j] < 0.5 {
				x.valid[i*x.t+j] = 0
			} else {
				x.valid[i*x.t+j], words = 1, words+1
			}
		}
		if words == 0 {
			return x, fmt.Errorf("text %d has no word to attend (skip_cls %v)", i, l.cfg.SkipCLS)
		}
	}
	return x, nil
}

// ComputeLocal implements sdk.LocalLoss.
func (l *Loss) ComputeLocal(in sdk.LocalInputs) (sdk.LossResult, error) {
	x, err := l.check(in)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("gloria: %w", err)
	}
	res := sdk.LossResult{Metrics: map[string]float64{}, Chance: l.cfg.chance(x.b)}
	loss, grads, err := l.Backprop([]*tensor.Tensor{x.v, x.u, x.img, x.tok}, func(s *torchx.Scope, leaves []*ts.Tensor) (*ts.Tensor, error) {
		valid, err := tensor.FromFloat64s(x.v.DType, []int64{x.b, x.t}, x.valid)
		if err != nil {
			return nil, err
		}
		vt, err := s.FromCore(valid, false)
		if err != nil {
			return nil, err
		}
		loss, glob, loc, logits, err := l.forward(s, leaves[0], leaves[1], leaves[2], leaves[3], vt)
		if err != nil {
			return nil, err
		}
		if res.Metrics[MetricGlobal], err = torchx.Float64(glob); err != nil {
			return nil, err
		}
		if res.Metrics[MetricLocal], err = torchx.Float64(loc); err != nil {
			return nil, err
		}
		lv, err := s.Float64s(logits)
		if err != nil {
			return nil, err
		}
		res.Metrics[MetricLocalAcc], _ = infonce.Accuracies(lv, int(x.b))
		return loss, nil
	})
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("gloria: %w", err)
	}
	res.Loss = loss
	res.ImageGrads = map[string]*tensor.Tensor{sdk.OutputProjection: grads[0], l.cfg.ImageOutput: grads[2]}
	res.TextGrads = map[string]*tensor.Tensor{sdk.OutputProjection: grads[1], sdk.OutputTokens: grads[3]}
	return res, nil
}

// forward builds L, L_glb, L_loc and the local logits temp3 * S (images
// as rows) in s.
func (l *Loss) forward(s *torchx.Scope, v, u, img, tok, valid *ts.Tensor) (loss, glob, loc, logits *ts.Tensor, err error) {
	c := l.cfg
	scale, err := s.Keep(ts.Ones([]int64{1}, v.DType(), gotch.CPU))
	if err != nil {
		return
	}
	if scale, err = s.Keep(scale.MulScalar(s.Scalar(c.Temp3), false)); err != nil {
		return
	}
	// infonce's mean of 0.5 * (row + column CE) is half GLoRIA's sum.
	half, _, _, _, err := infonce.Forward(s, v, u, scale, 0.5)
	if err != nil {
		return
	}
	if glob, err = s.Keep(half.MulScalar(s.Scalar(2), false)); err != nil {
		return
	}
	if logits, err = l.localLogits(s, img, tok, valid); err != nil {
		return
	}
	if loc, err = infonce.SymmetricCE(s, logits); err != nil {
		return
	}
	g, err := s.Keep(glob.MulScalar(s.Scalar(c.GlobalWeight), false))
	if err != nil {
		return
	}
	lw, err := s.Keep(loc.MulScalar(s.Scalar(c.LocalWeight), false))
	if err != nil {
		return
	}
	loss, err = s.Keep(g.Add(lw, false))
	return
}
