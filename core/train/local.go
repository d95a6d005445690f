package train

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// infoer is a plugin that describes itself (every sdk client does).
type infoer interface {
	Info(ctx context.Context) (sdk.Info, error)
}

// local is the split step of a loss that declares sdk.LossNeeds: each
// encoder returns the named outputs the loss needs (its local features
// beside or instead of the pooled embedding), the loss gets them (and the
// batch's texts if it asked) and returns a gradient for each, and each
// encoder back-propagates its outputs' gradients in one pass. Only what the
// loss declared crosses between processes.
type local struct {
	name        string
	needs       sdk.LossNeeds
	loss        sdk.LocalLoss
	image, text sdk.NamedEncoder // nil when the loss needs none of its outputs
}

// newLocal returns the local step of p's loss, or nil when the loss
// declares no needs (it takes v and u: the step is the plain one, which
// needs both encoders). A loss that declares needs must be served whole:
// encoders with named outputs, and no GradCache; Parts.Text may then be
// nil when it needs no text output (it is neither run, stepped nor
// checkpointed).
func newLocal(ctx context.Context, cfg Config, p Parts) (*local, error) {
	var info sdk.Info
	if d, ok := p.Loss.(infoer); ok {
		var err error
		if info, err = d.Info(ctx); err != nil {
			return nil, fmt.Errorf("loss info: %w", err)
		}
	}
	if info.Needs == nil {
		if p.Text == nil {
			return nil, fmt.Errorf("no text encoder: loss %q takes the pooled image and text embeddings; only a loss that declares needs without text outputs (a captioning loss) trains without one", info.Name)
		}
		return nil, nil
	}
	var ok bool
	lc := &local{name: info.Name, needs: *info.Needs}
	if lc.loss, ok = p.Loss.(sdk.LocalLoss); !ok {
		return nil, fmt.Errorf("loss %q declares needs %+v but takes no named outputs (sdk.LocalLoss)", info.Name, *info.Needs)
	}
	if len(lc.needs.Image) == 0 && len(lc.needs.Text) == 0 && !lc.needs.Texts {
		return nil, fmt.Errorf("loss %q declares empty needs: it would get nothing to compute on", info.Name)
	}
	if cfg.GradCacheChunk > 0 {
		return nil, fmt.Errorf("train.grad_cache.chunk %d: loss %q needs named outputs (%+v); GradCache serves losses of the pooled embeddings only", cfg.GradCacheChunk, info.Name, lc.needs)
	}
	for _, side := range []struct {
		role  string
		enc   Encoder
		names []string
		dst   *sdk.NamedEncoder
	}{{"image", p.Image, lc.needs.Image, &lc.image}, {"text", p.Text, lc.needs.Text, &lc.text}} {
		if len(side.names) == 0 {
			continue
		}
		ne, ok := side.enc.(sdk.NamedEncoder)
		if !ok || side.enc == nil {
			return nil, fmt.Errorf("loss %q needs the %s encoder's outputs %v, which it does not serve (no named outputs)", info.Name, side.role, side.names)
		}
		*side.dst = ne
	}
	return lc, nil
}

// compute runs the forwards the loss needs and the loss on b; with graph
// the encoders keep their graphs for backward.
func (lc *local) compute(ctx context.Context, l *loop, b *sdk.Batch, graph bool) (sdk.LossResult, error) {
	var in sdk.LocalInputs
	forward := func(enc sdk.NamedEncoder, batch *sdk.Batch, names []string, dst *map[string]*tensor.Tensor) func(context.Context) error {
		return func(ctx context.Context) (err error) {
			if enc == nil {
				return nil
			}
			*dst, err = enc.ForwardNamed(ctx, sdk.ForwardRequest{Batch: batch, Train: graph, Graph: graph, Outputs: names})
			return err
		}
	}
	err := l.both(ctx,
		named("image encoder forward", forward(lc.image, imagesOnly(b), lc.needs.Image, &in.Image)),
		named("text encoder forward", forward(lc.text, textsOnly(b), lc.needs.Text, &in.Text)))
	if err != nil {
		return sdk.LossResult{}, err
	}
	if lc.needs.Texts {
		in.Texts = b.Texts
	}
	res, err := lc.loss.ComputeLocal(ctx, in)
	if err != nil {
		return res, fmt.Errorf("loss: %w", err)
	}
	return res, nil
}

// step is the local split step on b.
func (lc *local) step(ctx context.Context, l *loop, b *sdk.Batch) (sdk.LossResult, error) {
	res, err := lc.compute(ctx, l, b, true)
	if err != nil {
		return sdk.LossResult{}, err
	}
	backward := func(enc sdk.NamedEncoder, grads map[string]*tensor.Tensor) func(context.Context) error {
		return func(ctx context.Context) error {
			if enc == nil || len(grads) == 0 {
				return nil // its pending graph goes with the step
			}
			return enc.BackwardNamed(ctx, grads)
		}
	}
	err = l.both(ctx,
		named("image encoder backward", backward(lc.image, res.ImageGrads)),
		named("text encoder backward", backward(lc.text, res.TextGrads)))
	if err != nil {
		return sdk.LossResult{}, err
	}
	return res, l.stepAll(ctx)
}
