// Package heads holds ConVIRT's projection head g(x) = W2 relu(W1 x), the
// SimCLR-style non-linear projection applied to encoder features before the
// contrastive loss.
package heads

import (
	"fmt"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Config sizes the head. ConVIRT uses Out = 512; Hidden defaults to In.
type Config struct {
	In, Hidden, Out int64
}

// Projection is g(x) = W2 relu(W1 x) with variables named linear1.weight,
// linear1.bias, linear2.weight, linear2.bias.
type Projection struct {
	cfg    Config
	l1, l2 *layers.Linear
}

// New builds the head under p.
func New(p *nn.Path, cfg Config) (*Projection, error) {
	if cfg.Hidden == 0 {
		cfg.Hidden = cfg.In
	}
	if cfg.Out == 0 {
		cfg.Out = 512
	}
	if cfg.In <= 0 || cfg.Hidden <= 0 || cfg.Out <= 0 {
		return nil, fmt.Errorf("heads: sizes must be positive: %+v", cfg)
	}
	l1, err := layers.NewLinear(p.Sub("linear1"), cfg.In, cfg.Hidden, nil, false)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	l2, err := layers.NewLinear(p.Sub("linear2"), cfg.Hidden, cfg.Out, nil, false)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	return &Projection{cfg: cfg, l1: l1, l2: l2}, nil
}

// Config returns the resolved sizes.
func (h *Projection) Config() Config { return h.cfg }

// Forward projects x [N, In] to [N, Out]. x is not dropped.
func (h *Projection) Forward(x *ts.Tensor) (*ts.Tensor, error) {
	y, err := layers.Chain(x, h.l1.Forward, layers.Relu, h.l2.Forward)
	if err != nil {
		return nil, fmt.Errorf("projection head: %w", err)
	}
	return y, nil
}
