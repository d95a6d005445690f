package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// PairsConfig sizes a RandomPairs dataset.
type PairsConfig struct {
	Batch    int      // pairs per batch
	Batches  int      // distinct pre-made batches, served in turn (default 1)
	Channels int      // image channels
	Size     int      // image side in pixels
	Words    []string // text vocabulary; each text is Tokens of them
	Tokens   int      // words per text
	// MinTokens, when positive and below Tokens, makes each text's length
	// uniform in [MinTokens, Tokens] words (for length bucketing).
	MinTokens int
	Seed      uint64
}

// RandomPairs is a paired dataset of pre-made random batches (standard
// normal pixels, texts of random words) held in memory, served in turn
// whatever indices are asked for: it lets a benchmark drive the real
// training loop without measuring data loading. It implements
// core/train.Dataset.
type RandomPairs struct {
	cfg     PairsConfig
	batches []*sdk.Batch
	served  atomic.Int64
}

// NewRandomPairs makes the batches.
func NewRandomPairs(c PairsConfig) (*RandomPairs, error) {
	if c.Batches <= 0 {
		c.Batches = 1
	}
	if c.Batch <= 0 || c.Channels <= 0 || c.Size <= 0 || c.Tokens <= 0 || len(c.Words) == 0 {
		return nil, fmt.Errorf("bench: random pairs need a positive batch, channels, size, tokens and some words: %+v", c)
	}
	d := &RandomPairs{cfg: c}
	r := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	per := c.Channels * c.Size * c.Size
	for k := range c.Batches {
		b := &sdk.Batch{}
		px := make([]float32, c.Batch*per)
		for i := range px {
			px[i] = float32(r.NormFloat64())
		}
		for i := range c.Batch {
			n := c.Tokens
			if c.MinTokens > 0 && c.MinTokens < c.Tokens {
				n = c.MinTokens + r.IntN(c.Tokens-c.MinTokens+1)
			}
			words := make([]string, n)
			for j := range words {
				words[j] = c.Words[r.IntN(len(c.Words))]
			}
			b.IDs = append(b.IDs, strconv.Itoa(k*c.Batch+i))
			b.Texts = append(b.Texts, strings.Join(words, " "))
		}
		shape := []int64{int64(c.Batch), int64(c.Channels), int64(c.Size), int64(c.Size)}
		var err error
		if b.Images, err = tensor.FromFloat32(shape, px); err != nil {
			return nil, err
		}
		d.batches = append(d.batches, b)
	}
	return d, nil
}

// Describe implements core/train.Dataset: every split has Batches batches.
func (d *RandomPairs) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: d.cfg.Batch * len(d.batches), Task: sdk.TaskPaired}, nil
}

// Batch implements core/train.Dataset: the next pre-made batch.
func (d *RandomPairs) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	if len(req.Indices) != d.cfg.Batch {
		return nil, fmt.Errorf("bench: random pairs serve batches of %d, asked for %d", d.cfg.Batch, len(req.Indices))
	}
	return d.Next(), nil
}

// View returns a dataset serving the same batches with its own turn, so
// two loops can share the batches without drawing from each other's turn.
func (d *RandomPairs) View() *RandomPairs { return &RandomPairs{cfg: d.cfg, batches: d.batches} }

// Next returns the next pre-made batch in turn.
func (d *RandomPairs) Next() *sdk.Batch {
	n := d.served.Add(1) - 1
	return d.batches[n%int64(len(d.batches))]
}
