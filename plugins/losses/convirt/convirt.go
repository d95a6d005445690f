// Package convirt implements ConVIRT's bidirectional contrastive (InfoNCE)
// loss on libtorch. Given image projections v and text projections u (N x d),
// both are L2-normalised, S = v u^T / tau, and
//
//	L = mean_i [ lambda * CE(S[i,:], i) + (1 - lambda) * CE(S[:,i], i) ].
//
// Compute returns L with its gradients with respect to v and u, so the loss
// can run in its own process and hand the gradients back to the encoders.
package convirt

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
	// Tau is the temperature dividing the cosine similarities; > 0.
	Tau float64 `json:"tau" min:"1e-6" doc:"temperature (the paper: 0.1)"`
	// Lambda weighs the image-to-text direction; 1 - Lambda the
	// text-to-image one. In [0, 1].
	Lambda float64 `json:"lambda" min:"0" max:"1" doc:"weight of the image-to-text direction"`
}

// DefaultConfig returns the paper's settings: tau 0.1, lambda 0.75.
func DefaultConfig() Config { return Config{Tau: 0.1, Lambda: 0.75} }

// Schema is the plugin's config schema, derived from Config's tags with
// DefaultConfig's values.
var Schema = schema.MustDerive(DefaultConfig())

// Spec is the built-in loss plugin "convirt" (registered under its name).
var Spec = lossplugin.Register(lossplugin.Spec[Config]{Name: "convirt", Version: "0.1.0",
	Description: "ConVIRT's bidirectional InfoNCE loss",
	Schema:      Schema, Defaults: DefaultConfig, New: lossplugin.Builds(New)})

// Validate checks the ranges of the fields (Config's tags), naming the one
// at fault.
func (c Config) Validate() error { return schema.ValidateAs("convirt", c) }

// Metric names reported in Result.Metrics.
const (
	MetricLossImageToText = infonce.MetricLossImageToText // mean of l_i(v->u)
	MetricLossTextToImage = infonce.MetricLossTextToImage // mean of l_i(u->v)
	MetricAccImageToText  = infonce.MetricAccImageToText  // top-1 accuracy of S's rows
	MetricAccTextToImage  = infonce.MetricAccTextToImage  // top-1 accuracy of S's columns
)

// Loss is ConVIRT's loss. It holds no state beyond its configuration (it
// has no parameters: Step does nothing and its state is empty) and is safe
// for concurrent use.
type Loss struct {
	cfg Config
	lossplugin.Stateless
}

// New validates cfg and returns the loss.
func New(cfg Config) (*Loss, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Loss{cfg: cfg}, nil
}

// Config returns the loss's configuration.
func (l *Loss) Config() Config { return l.cfg }

// Compute evaluates the loss and its gradients for image projections v and
// text projections u: two N x d float32 or float64 tensors of the same dtype,
// where row i of v is paired with row i of u. The result holds L, dL/dv
// and dL/du (with v's shape and dtype), and the per-direction losses and
// top-1 accuracies as metrics.
func (l *Loss) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	n, err := infonce.CheckPair(v, u)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("convirt: %w", err)
	}
	var res sdk.LossResult
	err = infonce.Run(v, u, func(s *torchx.Scope, vt, ut *ts.Tensor) error {
		scale, err := s.Scalar1(v.DType, 1/l.cfg.Tau, false)
		if err != nil {
			return err
		}
		loss, logits, lvu, luv, err := infonce.Forward(s, vt, ut, scale, l.cfg.Lambda)
		if err != nil {
			return err
		}
		value, grads, metrics, err := infonce.Finish(s, loss, logits, lvu, luv, []*ts.Tensor{vt, ut}, int(n))
		if err != nil {
			return err
		}
		res = sdk.LossResult{Loss: value, GradV: grads[0], GradU: grads[1], Metrics: metrics, Chance: math.Log(float64(n))}
		return nil
	})
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("convirt: %w", err)
	}
	return res, nil
}
