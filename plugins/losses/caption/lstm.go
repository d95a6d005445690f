package caption

import (
	"fmt"

	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// lstm is Show, Attend and Tell's decoder: the state starts from the mean
// region, and at every step additive attention over the regions gives a
// context that the LSTM cell reads beside the previous word's embedding;
// the hidden state predicts the next word.
type lstm struct {
	embed                    *layers.Embedding
	initH, initC             *layers.Linear
	attK, attQ, attV         *layers.Linear
	cellIn, cellHid, outProj *layers.Linear
	hidden                   int64
}

func newLSTM(p *nn.Path, c Config, vocab int64) (decoder, error) {
	d := &lstm{hidden: c.Hidden}
	var err error
	if d.embed, err = layers.NewEmbedding(p.Sub("embed"), vocab, c.EmbedDim, layers.Normal(0.1), false); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		dst     **layers.Linear
		name    string
		in, out int64
	}{
		{&d.initH, "init_h", c.ImageDim, c.Hidden}, {&d.initC, "init_c", c.ImageDim, c.Hidden},
		{&d.attK, "att_key", c.ImageDim, c.AttnDim}, {&d.attQ, "att_query", c.Hidden, c.AttnDim}, {&d.attV, "att_score", c.AttnDim, 1},
		{&d.cellIn, "cell_in", c.EmbedDim + c.ImageDim, 4 * c.Hidden}, {&d.cellHid, "cell_hidden", c.Hidden, 4 * c.Hidden},
		{&d.outProj, "out", c.Hidden, vocab},
	} {
		if *l.dst, err = layers.NewLinear(p.Sub(l.name), l.in, l.out, nil, false); err != nil {
			return nil, fmt.Errorf("lstm %s: %w", l.name, err)
		}
	}
	return d, nil
}

// logits unrolls the decoder over the teacher-forced ids.
func (d *lstm) logits(s *torchx.Scope, regions, ids *ts.Tensor) (*ts.Tensor, error) {
	dt := regions.DType()
	mean, err := s.Keep(regions.MeanDim([]int64{1}, false, dt, false)) // [B, C]
	if err != nil {
		return nil, err
	}
	h, err := lossparams.Chain(s, mean, func(x *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, d.initH, x) }, tanh)
	if err != nil {
		return nil, err
	}
	c, err := lossparams.Chain(s, mean, func(x *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, d.initC, x) }, tanh)
	if err != nil {
		return nil, err
	}
	keys, err := lossparams.Linear(s, d.attK, regions) // [B, R, A]
	if err != nil {
		return nil, err
	}
	emb, err := lossparams.Embedding(s, d.embed, ids, dt) // [B, L, E]
	if err != nil {
		return nil, err
	}
	steps := ids.MustSize()[1]
	outs := make([]*ts.Tensor, 0, steps)
	for t := range steps {
		ctx, err := d.attend(s, regions, keys, h)
		if err != nil {
			return nil, fmt.Errorf("step %d: attention: %w", t, err)
		}
		word, err := s.Keep(emb.Select(1, t, false))
		if err != nil {
			return nil, err
		}
		x, err := s.Keep(ts.Cat([]*ts.Tensor{word, ctx}, 1))
		if err != nil {
			return nil, err
		}
		if h, c, err = d.cell(s, x, h, c); err != nil {
			return nil, fmt.Errorf("step %d: %w", t, err)
		}
		out, err := lossparams.Linear(s, d.outProj, h)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return s.Keep(ts.Stack(outs, 1))
}

// attend is the attention context sum_r softmax_r(w . tanh(K_r + Q h)) c_r.
func (d *lstm) attend(s *torchx.Scope, regions, keys, h *ts.Tensor) (*ts.Tensor, error) {
	q, err := lossparams.Chain(s, h,
		func(x *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, d.attQ, x) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Unsqueeze(1, false) }) // [B, 1, A]
	if err != nil {
		return nil, err
	}
	return lossparams.Chain(s, keys,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Add(q, false) },
		tanh,
		func(x *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, d.attV, x) }, // [B, R, 1]
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Softmax(1, x.DType(), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Mul(regions, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.SumDimIntlist([]int64{1}, false, x.DType(), false) }) // [B, C]
}

// cell is one LSTM step (gates i, f, g, o as PyTorch orders them).
func (d *lstm) cell(s *torchx.Scope, x, h, c *ts.Tensor) (*ts.Tensor, *ts.Tensor, error) {
	a, err := lossparams.Linear(s, d.cellIn, x)
	if err != nil {
		return nil, nil, err
	}
	b, err := lossparams.Linear(s, d.cellHid, h)
	if err != nil {
		return nil, nil, err
	}
	gates, err := s.Keep(a.Add(b, false))
	if err != nil {
		return nil, nil, err
	}
	gate, err := lossparams.Split(s, gates, 1, 4)
	if err != nil {
		return nil, nil, err
	}
	for k, act := range []func(*ts.Tensor) (*ts.Tensor, error){sigmoid, sigmoid, tanh, sigmoid} {
		if gate[k], err = s.Keep(act(gate[k])); err != nil {
			return nil, nil, fmt.Errorf("gate %d: %w", k, err)
		}
	}
	i, f, g, o := gate[0], gate[1], gate[2], gate[3]
	fc, err := s.Keep(f.Mul(c, false))
	if err != nil {
		return nil, nil, err
	}
	ig, err := s.Keep(i.Mul(g, false))
	if err != nil {
		return nil, nil, err
	}
	c2, err := s.Keep(fc.Add(ig, false))
	if err != nil {
		return nil, nil, err
	}
	h2, err := lossparams.Chain(s, c2, tanh, func(x *ts.Tensor) (*ts.Tensor, error) { return x.Mul(o, false) })
	return h2, c2, err
}

func tanh(x *ts.Tensor) (*ts.Tensor, error)    { return x.Tanh(false) }
func sigmoid(x *ts.Tensor) (*ts.Tensor, error) { return x.Sigmoid(false) }
