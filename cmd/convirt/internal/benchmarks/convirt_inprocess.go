package benchmarks

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/bench"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	convirtloss "github.com/convirt/convirt/plugins/losses/convirt"
	"github.com/convirt/convirt/plugins/losses/infonce"
	"github.com/convirt/convirt/plugins/losses/lossplugin"
)

// inProcessRef runs the same ConVIRT step in this process: either in one
// autograd graph (torchenc.ReferenceStep, mode "graph") or through
// core/train's step with the encoder and loss plugins as in-process objects
// (mode "loop", which isolates the cost of the process boundary).
type inProcessRef struct {
	mode     string
	img, txt *torchenc.Plugin
	loss     *lossplugin.Plugin[convirtloss.Config]
	data     *bench.RandomPairs
	cfg      train.Config
}

func newInProcessRef(ctx context.Context, o *convirtOpts, data *bench.RandomPairs) (*inProcessRef, error) {
	r := &inProcessRef{mode: o.Ref, img: image.New(o.imagePlugin), txt: text.New(), data: data,
		cfg: train.Config{BatchSize: o.Batch, MaxSteps: 1, Seed: int64(o.Seed), Prefetch: 1, GradCacheChunk: o.GradCache,
			SequentialEncoders: o.Sequential}}
	imgCfg, txtCfg := encoderConfigs(o)
	if err := r.img.Configure(ctx, imgCfg); err != nil {
		r.Close()
		return nil, fmt.Errorf("in-process image encoder: %w", err)
	}
	if err := r.txt.Configure(ctx, txtCfg); err != nil {
		r.Close()
		return nil, fmt.Errorf("in-process text encoder: %w", err)
	}
	if r.mode == "loop" {
		r.loss = convirtloss.Spec.Plugin()
		if err := r.loss.Configure(ctx, map[string]any{"tau": 0.1, "lambda": 0.75}); err != nil {
			r.Close()
			return nil, fmt.Errorf("in-process loss: %w", err)
		}
	}
	return r, nil
}

// Step runs one step and returns its loss.
func (r *inProcessRef) Step(ctx context.Context) (float64, error) {
	if r.mode == "graph" {
		return torchenc.ReferenceStep(r.img.Encoder(), r.txt.Encoder(), r.data.Next(), infonce.ConVIRT(0.1, 0.75))
	}
	res, err := train.Run(ctx, r.cfg, train.Parts{Image: r.img, Text: r.txt, Loss: r.loss, Data: r.data})
	return res.LastLoss, err
}

// Close releases both encoders.
func (r *inProcessRef) Close() {
	r.img.Close()
	r.txt.Close()
}
