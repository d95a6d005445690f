package bert

import (
	"fmt"
	"math"
	"strconv"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// initStd is BERT's initializer_range.
const initStd = 0.02

// Model is a BERT encoder.
type Model struct {
	cfg                Config
	word, pos, tokType *layers.Embedding
	embLN              *layers.LayerNorm
	layers             []*layer
}

// New builds the encoder under p (for HF names, the VarStore root).
func New(p *nn.Path, cfg Config) (*Model, error) {
	cfg, err := cfg.resolved()
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg}
	fe := cfg.FreezeEmbeddings
	init := layers.Normal(initStd)
	if m.word, err = layers.NewEmbedding(layers.At(p, "embeddings.word_embeddings"), cfg.VocabSize, cfg.Hidden, init, fe); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if m.pos, err = layers.NewEmbedding(layers.At(p, "embeddings.position_embeddings"), cfg.MaxPositions, cfg.Hidden, init, fe); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if m.tokType, err = layers.NewEmbedding(layers.At(p, "embeddings.token_type_embeddings"), cfg.TypeVocabSize, cfg.Hidden, init, fe); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if m.embLN, err = layers.NewLayerNorm(layers.At(p, "embeddings.LayerNorm"), cfg.Hidden, cfg.LayerNormEps, fe); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	for i := 0; i < int(cfg.Layers); i++ {
		l, err := newLayer(layers.At(p, "encoder.layer."+strconv.Itoa(i)), cfg, i < cfg.FreezeLayers)
		if err != nil {
			return nil, fmt.Errorf("bert: layer %d: %w", i, err)
		}
		m.layers = append(m.layers, l)
	}
	return m, nil
}

// Config returns the resolved configuration.
func (m *Model) Config() Config { return m.cfg }

// FeatureDim is the size of the pooled output (the hidden size).
func (m *Model) FeatureDim() int64 { return m.cfg.Hidden }

// Hidden runs the encoder on ids and mask (both int64 [N, L], mask 1 for
// real tokens) and returns the last layer's token outputs [N, L, Hidden].
// Dropout is active when train is true. Inputs are not dropped.
func (m *Model) Hidden(ids, mask *ts.Tensor, train bool) (*ts.Tensor, error) {
	size, err := ids.Size()
	if err != nil || len(size) != 2 {
		return nil, fmt.Errorf("bert: ids must be [N, L], got %v (%v)", size, err)
	}
	if size[1] > m.cfg.MaxPositions {
		return nil, fmt.Errorf("bert: sequence length %d exceeds %d positions", size[1], m.cfg.MaxPositions)
	}
	x, err := m.embed(ids, size[1], train)
	if err != nil {
		return nil, err
	}
	ext, err := extendedMask(mask)
	if err != nil {
		x.MustDrop()
		return nil, err
	}
	defer ext.MustDrop()
	for i, l := range m.layers {
		y, err := l.forward(x, ext, train)
		x.MustDrop()
		if err != nil {
			return nil, fmt.Errorf("bert: layer %d: %w", i, err)
		}
		x = y
	}
	return x, nil
}

// Forward returns pooled features [N, Hidden]: the max over valid tokens
// (PoolMax) or the [CLS] output (PoolCLS).
func (m *Model) Forward(ids, mask *ts.Tensor, train bool) (*ts.Tensor, error) {
	h, err := m.Hidden(ids, mask, train)
	if err != nil {
		return nil, err
	}
	defer h.MustDrop()
	if m.cfg.Pooling == PoolCLS {
		return h.Select(1, 0, false)
	}
	return MaxPool(h, mask)
}

// MaxPool takes the maximum of h [N, L, D] over the tokens whose mask
// [N, L] is non-zero; padded positions never win.
func MaxPool(h, mask *ts.Tensor) (*ts.Tensor, error) {
	pad, err := mask.Eq(ts.IntScalar(0), false)
	if err != nil {
		return nil, fmt.Errorf("max pool: %w", err)
	}
	pad3, err := pad.Unsqueeze(-1, true)
	if err != nil {
		return nil, fmt.Errorf("max pool: %w", err)
	}
	defer pad3.MustDrop()
	filled, err := h.MaskedFill(pad3, ts.FloatScalar(math.Inf(-1)), false)
	if err != nil {
		return nil, fmt.Errorf("max pool: %w", err)
	}
	return filled.Amax([]int64{1}, false, true)
}

// embed sums word, position and token-type (all type 0) embeddings, then
// applies LayerNorm and dropout.
func (m *Model) embed(ids *ts.Tensor, seqLen int64, train bool) (*ts.Tensor, error) {
	w, err := m.word.Forward(ids)
	if err != nil {
		return nil, fmt.Errorf("bert embeddings: %w", err)
	}
	pos, err := m.pos.Weight.Narrow(0, 0, seqLen, false)
	if err != nil {
		w.MustDrop()
		return nil, fmt.Errorf("bert embeddings: %w", err)
	}
	typ, err := m.tokType.Weight.Narrow(0, 0, 1, false)
	if err != nil {
		w.MustDrop()
		pos.MustDrop()
		return nil, fmt.Errorf("bert embeddings: %w", err)
	}
	out, err := layers.Chain(w,
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Add(pos, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Add(typ, false) },
		m.embLN.Forward,
		dropout(m.cfg.HiddenDropout, train),
	)
	layers.Drop(w, pos, typ)
	if err != nil {
		return nil, fmt.Errorf("bert embeddings: %w", err)
	}
	return out, nil
}

// extendedMask turns mask [N, L] into the additive attention bias
// [N, 1, 1, L]: 0 for real tokens, the lowest float32 for padding, as
// Hugging Face does.
func extendedMask(mask *ts.Tensor) (*ts.Tensor, error) {
	lowest := ts.FloatScalar(-math.MaxFloat32)
	zero := ts.IntScalar(0)
	defer lowest.MustDrop()
	defer zero.MustDrop()
	ext, err := layers.Chain(mask,
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Eq(zero, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Totype(gotch.Float, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.MulScalar(lowest, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Unsqueeze(1, false) },
		func(t *ts.Tensor) (*ts.Tensor, error) { return t.Unsqueeze(1, false) },
	)
	if err != nil {
		return nil, fmt.Errorf("bert attention mask: %w", err)
	}
	return ext, nil
}

// dropout is a Func applying dropout with probability p in training.
func dropout(p float64, train bool) layers.Func {
	return func(t *ts.Tensor) (*ts.Tensor, error) {
		if !train || p == 0 {
			return t.ShallowClone()
		}
		return ts.Dropout(t, p, true)
	}
}
