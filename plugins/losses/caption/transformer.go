package caption

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// transformer is a Transformer decoder (post-norm, as Vaswani et al.):
// learned token and position embeddings, then per layer causal
// self-attention, cross-attention over the projected regions and a
// feed-forward block, each with a residual and LayerNorm.
type transformer struct {
	tokens, positions *layers.Embedding
	memory, out       *layers.Linear
	layers            []decoderLayer
	heads, maxLen     int64
}

type decoderLayer struct {
	selfQKV, selfOut, crossQ, crossKV, crossOut, ffn1, ffn2 *layers.Linear
	ln1, ln2, ln3                                           *layers.LayerNorm
}

func newTransformer(p *nn.Path, c Config, vocab int64) (decoder, error) {
	if c.Hidden%c.Heads != 0 {
		return nil, fmt.Errorf("transformer: hidden %d is not a multiple of heads %d", c.Hidden, c.Heads)
	}
	d := &transformer{heads: c.Heads, maxLen: int64(c.MaxLen)}
	var err error
	if d.tokens, err = layers.NewEmbedding(p.Sub("tokens"), vocab, c.Hidden, layers.Normal(0.02), false); err != nil {
		return nil, err
	}
	if d.positions, err = layers.NewEmbedding(p.Sub("positions"), int64(c.MaxLen), c.Hidden, layers.Normal(0.02), false); err != nil {
		return nil, err
	}
	if d.memory, err = layers.NewLinear(p.Sub("memory"), c.ImageDim, c.Hidden, nil, false); err != nil {
		return nil, err
	}
	if d.out, err = layers.NewLinear(p.Sub("out"), c.Hidden, vocab, nil, false); err != nil {
		return nil, err
	}
	for i := range c.Layers {
		lp := p.Sub(fmt.Sprintf("layer%d", i))
		var l decoderLayer
		for _, x := range []struct {
			dst     **layers.Linear
			name    string
			in, out int64
		}{
			{&l.selfQKV, "self_qkv", c.Hidden, 3 * c.Hidden}, {&l.selfOut, "self_out", c.Hidden, c.Hidden},
			{&l.crossQ, "cross_q", c.Hidden, c.Hidden}, {&l.crossKV, "cross_kv", c.Hidden, 2 * c.Hidden}, {&l.crossOut, "cross_out", c.Hidden, c.Hidden},
			{&l.ffn1, "ffn1", c.Hidden, c.FFN}, {&l.ffn2, "ffn2", c.FFN, c.Hidden},
		} {
			if *x.dst, err = layers.NewLinear(lp.Sub(x.name), x.in, x.out, nil, false); err != nil {
				return nil, fmt.Errorf("transformer layer %d %s: %w", i, x.name, err)
			}
		}
		for j, dst := range []**layers.LayerNorm{&l.ln1, &l.ln2, &l.ln3} {
			if *dst, err = layers.NewLayerNorm(lp.Sub(fmt.Sprintf("ln%d", j+1)), c.Hidden, 1e-5, false); err != nil {
				return nil, err
			}
		}
		d.layers = append(d.layers, l)
	}
	return d, nil
}

// logits runs the decoder over the teacher-forced ids.
func (d *transformer) logits(s *torchx.Scope, regions, ids *ts.Tensor) (*ts.Tensor, error) {
	dt := regions.DType()
	steps := ids.MustSize()[1]
	if steps > d.maxLen {
		return nil, fmt.Errorf("transformer: %d tokens exceed max_len %d", steps, d.maxLen)
	}
	mem, err := lossparams.Linear(s, d.memory, regions) // [B, R, H]
	if err != nil {
		return nil, err
	}
	emb, err := lossparams.Embedding(s, d.tokens, ids, dt) // [B, L, H]
	if err != nil {
		return nil, err
	}
	x, err := lossparams.Chain(s, d.positions.Weight, // plus the first L positions' embeddings
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Totype(dt, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Narrow(0, 0, steps, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return emb.Add(t, false) })
	if err != nil {
		return nil, err
	}
	// Causal mask: true above the diagonal (a later token).
	future, err := lossparams.Chain(s, nil,
		func(*ts.Tensor) (*ts.Tensor, error) { return ts.Ones([]int64{steps, steps}, gotch.Float, gotch.CPU) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Triu(1, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Eq(s.Scalar(1), false) })
	if err != nil {
		return nil, err
	}
	for i, l := range d.layers {
		if x, err = d.layer(s, l, x, mem, future); err != nil {
			return nil, fmt.Errorf("transformer layer %d: %w", i, err)
		}
	}
	return lossparams.Linear(s, d.out, x)
}

func (d *transformer) layer(s *torchx.Scope, l decoderLayer, x, mem, future *ts.Tensor) (*ts.Tensor, error) {
	qkv, err := lossparams.Linear(s, l.selfQKV, x)
	if err != nil {
		return nil, err
	}
	self, err := lossparams.Split(s, qkv, 2, 3)
	if err != nil {
		return nil, err
	}
	a, err := d.attention(s, self[0], self[1], self[2], future)
	if err != nil {
		return nil, err
	}
	if x, err = d.residual(s, l.selfOut, l.ln1, x, a); err != nil {
		return nil, err
	}
	cq, err := lossparams.Linear(s, l.crossQ, x)
	if err != nil {
		return nil, err
	}
	kv, err := lossparams.Linear(s, l.crossKV, mem)
	if err != nil {
		return nil, err
	}
	cross, err := lossparams.Split(s, kv, 2, 2)
	if err != nil {
		return nil, err
	}
	ca, err := d.attention(s, cq, cross[0], cross[1], nil)
	if err != nil {
		return nil, err
	}
	if x, err = d.residual(s, l.crossOut, l.ln2, x, ca); err != nil {
		return nil, err
	}
	f, err := lossparams.Chain(s, x,
		func(t *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, l.ffn1, t) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Gelu("none", false) })
	if err != nil {
		return nil, err
	}
	return d.residual(s, l.ffn2, l.ln3, x, f)
}

// residual is LayerNorm(x + proj(y)).
func (d *transformer) residual(s *torchx.Scope, proj *layers.Linear, ln *layers.LayerNorm, x, y *ts.Tensor) (*ts.Tensor, error) {
	p, err := lossparams.Linear(s, proj, y)
	if err != nil {
		return nil, err
	}
	sum, err := s.Keep(x.Add(p, false))
	if err != nil {
		return nil, err
	}
	w, err := lossparams.Cast(s, ln.Weight, x.DType())
	if err != nil {
		return nil, err
	}
	b, err := lossparams.Cast(s, ln.Bias, x.DType())
	if err != nil {
		return nil, err
	}
	return s.Keep(ts.LayerNorm(sum, []int64{ln.Dim}, w, b, ln.Eps, false))
}

// attention is multi-head scaled dot-product attention of q [B, Lq, H]
// over k, v [B, Lk, H]; mask (true: hidden) may be nil.
func (d *transformer) attention(s *torchx.Scope, q, k, v, mask *ts.Tensor) (*ts.Tensor, error) {
	size := q.MustSize()
	b, lq, hidden := size[0], size[1], size[2]
	dh := hidden / d.heads
	var heads [3]*ts.Tensor // q, k and v as [B, heads, L, dh]
	for i, t := range []*ts.Tensor{q, k, v} {
		n := t.MustSize()[1]
		var err error
		heads[i], err = lossparams.Chain(s, t,
			func(x *ts.Tensor) (*ts.Tensor, error) { return x.Reshape([]int64{b, n, d.heads, dh}, false) },
			func(x *ts.Tensor) (*ts.Tensor, error) { return x.Permute([]int64{0, 2, 1, 3}, false) })
		if err != nil {
			return nil, err
		}
	}
	qh, kh, vh := heads[0], heads[1], heads[2]
	scores, err := lossparams.Chain(s, kh,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Transpose(2, 3, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return qh.Matmul(x, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MulScalar(s.Scalar(1/math.Sqrt(float64(dh))), false) })
	if err != nil {
		return nil, err
	}
	if mask != nil {
		if scores, err = s.Keep(scores.MaskedFill(mask, s.Scalar(math.Inf(-1)), false)); err != nil {
			return nil, err
		}
	}
	return lossparams.Chain(s, scores,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Softmax(-1, x.DType(), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Matmul(vh, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Permute([]int64{0, 2, 1, 3}, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Reshape([]int64{b, lq, hidden}, false) })
}
