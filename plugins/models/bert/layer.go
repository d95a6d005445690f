package bert

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// layer is one transformer block: BertSelfAttention + BertSelfOutput,
// BertIntermediate + BertOutput, with Hugging Face's names.
type layer struct {
	cfg                  Config
	query, key, value    *layers.Linear
	attnOut              *layers.Linear
	attnLN               *layers.LayerNorm
	intermediate, output *layers.Linear
	outLN                *layers.LayerNorm
}

func newLayer(p *nn.Path, cfg Config, frozen bool) (*layer, error) {
	l := &layer{cfg: cfg}
	init := layers.Normal(initStd)
	var err error
	for _, s := range []struct {
		dst     **layers.Linear
		name    string
		in, out int64
	}{
		{&l.query, "attention.self.query", cfg.Hidden, cfg.Hidden},
		{&l.key, "attention.self.key", cfg.Hidden, cfg.Hidden},
		{&l.value, "attention.self.value", cfg.Hidden, cfg.Hidden},
		{&l.attnOut, "attention.output.dense", cfg.Hidden, cfg.Hidden},
		{&l.intermediate, "intermediate.dense", cfg.Hidden, cfg.Intermediate},
		{&l.output, "output.dense", cfg.Intermediate, cfg.Hidden},
	} {
		if *s.dst, err = layers.NewLinear(layers.At(p, s.name), s.in, s.out, init, frozen); err != nil {
			return nil, err
		}
	}
	if l.attnLN, err = layers.NewLayerNorm(layers.At(p, "attention.output.LayerNorm"), cfg.Hidden, cfg.LayerNormEps, frozen); err != nil {
		return nil, err
	}
	if l.outLN, err = layers.NewLayerNorm(layers.At(p, "output.LayerNorm"), cfg.Hidden, cfg.LayerNormEps, frozen); err != nil {
		return nil, err
	}
	return l, nil
}

// forward maps x [N, L, H] to [N, L, H]; ext is the additive mask
// [N, 1, 1, L]. x is not dropped.
func (l *layer) forward(x, ext *ts.Tensor, train bool) (*ts.Tensor, error) {
	ctx, err := l.selfAttention(x, ext, train)
	if err != nil {
		return nil, err
	}
	a, err := residualLN(ctx, x, l.attnOut, l.attnLN, l.cfg.HiddenDropout, train)
	ctx.MustDrop()
	if err != nil {
		return nil, fmt.Errorf("attention output: %w", err)
	}
	defer a.MustDrop()
	inter, err := layers.Chain(a, l.intermediate.Forward, gelu)
	if err != nil {
		return nil, fmt.Errorf("intermediate: %w", err)
	}
	defer inter.MustDrop()
	out, err := residualLN(inter, a, l.output, l.outLN, l.cfg.HiddenDropout, train)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return out, nil
}

// residualLN is BertSelfOutput / BertOutput: LayerNorm(dropout(dense(h)) + res).
func residualLN(h, res *ts.Tensor, dense *layers.Linear, ln *layers.LayerNorm, p float64, train bool) (*ts.Tensor, error) {
	return layers.Chain(h,
		dense.Forward,
		dropout(p, train),
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Add(res, false) },
		ln.Forward,
	)
}

func gelu(t *ts.Tensor) (*ts.Tensor, error) { return t.Gelu("none", false) }

// selfAttention returns the attention context [N, L, H] before the output
// projection.
func (l *layer) selfAttention(x, ext *ts.Tensor, train bool) (*ts.Tensor, error) {
	size, err := x.Size()
	if err != nil {
		return nil, err
	}
	n, seq := size[0], size[1]
	heads := l.cfg.Heads
	d := l.cfg.Hidden / heads
	// [N, L, H] -> [N, heads, L, d]
	split := func(lin *layers.Linear) (*ts.Tensor, error) {
		return layers.Chain(x, lin.Forward,
			func(t *ts.Tensor) (*ts.Tensor, error) { return t.View([]int64{n, seq, heads, d}, false) },
			func(t *ts.Tensor) (*ts.Tensor, error) { return t.Permute([]int64{0, 2, 1, 3}, false) },
		)
	}
	q, err := split(l.query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	k, err := split(l.key)
	if err != nil {
		q.MustDrop()
		return nil, fmt.Errorf("key: %w", err)
	}
	v, err := split(l.value)
	if err != nil {
		layers.Drop(q, k)
		return nil, fmt.Errorf("value: %w", err)
	}
	defer layers.Drop(q, k, v)
	scale := ts.FloatScalar(1 / math.Sqrt(float64(d)))
	defer scale.MustDrop()
	ctx, err := layers.Chain(k,
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Transpose(-1, -2, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return q.Matmul(t, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.MulScalar(scale, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Add(ext, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Softmax(-1, gotch.Float, false) },
		dropout(l.cfg.AttentionDropout, train),
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Matmul(v, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Permute([]int64{0, 2, 1, 3}, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Reshape([]int64{n, seq, l.cfg.Hidden}, false) },
	)
	if err != nil {
		return nil, fmt.Errorf("self attention: %w", err)
	}
	return ctx, nil
}
