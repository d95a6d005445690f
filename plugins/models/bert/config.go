// Package bert is a BERT encoder on gotch whose variables carry Hugging
// Face's BertModel names (embeddings.word_embeddings.weight,
// encoder.layer.N.attention.self.query.weight, ...), so a checkpoint
// converted to safetensors loads by name (strip a leading "bert." and allow
// the unused pooler.* and embeddings.position_ids entries).
//
// It supports attention masks, exact (erf) GELU, dropout, ConVIRT's max-pool
// over valid tokens or [CLS] pooling, and freezing the embeddings and the
// first N layers: frozen variables are created with requires_grad false and
// marked non-trainable, so optimisers built from the VarStore skip them.
package bert

import "fmt"

// Pooling selects how token outputs become one vector.
type Pooling string

// Pooling modes.
const (
	PoolMax Pooling = "max" // max over valid (unpadded) tokens, as in ConVIRT
	PoolCLS Pooling = "cls" // the [CLS] token's output
)

// Config sizes and configures the encoder.
type Config struct {
	VocabSize, Hidden, Layers, Heads, Intermediate int64
	MaxPositions, TypeVocabSize                    int64
	LayerNormEps                                   float64
	HiddenDropout, AttentionDropout                float64
	Pooling                                        Pooling
	// FreezeEmbeddings freezes the embedding tables and their LayerNorm.
	FreezeEmbeddings bool
	// FreezeLayers freezes encoder layers 0 .. FreezeLayers-1.
	FreezeLayers int
}

// Base is BERT-base (and ClinicalBERT): 768 hidden, 12 layers, 12 heads,
// 3072 intermediate, 30522 tokens, with ConVIRT's max pooling.
func Base() Config {
	return Config{
		VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072,
		MaxPositions: 512, TypeVocabSize: 2, LayerNormEps: 1e-12,
		HiddenDropout: 0.1, AttentionDropout: 0.1, Pooling: PoolMax,
	}
}

// Tiny is a 2-layer, 128-wide BERT for CPU demos and tests.
func Tiny(vocabSize int64) Config {
	c := Base()
	c.VocabSize, c.Hidden, c.Layers, c.Heads, c.Intermediate, c.MaxPositions = vocabSize, 128, 2, 2, 512, 128
	return c
}

// resolved fills the fields whose zero value means a default (the layer
// norm's epsilon, the pooling) and checks the result: the configuration a
// Model is built with and a config.json describes.
func (c Config) resolved() (Config, error) {
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	if c.Pooling == "" {
		c.Pooling = PoolMax
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.VocabSize <= 0 || c.Hidden <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0 || c.MaxPositions <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("bert: sizes must be positive: %+v", c)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("bert: hidden size %d is not a multiple of %d heads", c.Hidden, c.Heads)
	case c.FreezeLayers < 0 || int64(c.FreezeLayers) > c.Layers:
		return fmt.Errorf("bert: FreezeLayers %d outside 0..%d", c.FreezeLayers, c.Layers)
	case c.Pooling != PoolMax && c.Pooling != PoolCLS:
		return fmt.Errorf("bert: pooling %q (want %q or %q)", c.Pooling, PoolMax, PoolCLS)
	case c.HiddenDropout < 0 || c.HiddenDropout >= 1 || c.AttentionDropout < 0 || c.AttentionDropout >= 1:
		return fmt.Errorf("bert: dropout must be in [0, 1)")
	}
	return nil
}
