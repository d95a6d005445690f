// Package text is the built-in text encoder plugin "bert": BERT with Hugging
// Face's parameter names (BERT-base for ClinicalBERT weights, or a tiny
// configuration for CPU demos), a WordPiece tokenizer with dynamic padding,
// max or CLS pooling, frozen embeddings and first layers, and ConVIRT's
// projection head.
package text

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/models/weights"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Name is the plugin's registered name.
const Name = "bert"

// Version is the plugin's version.
const Version = "0.1.0"

// Config is the plugin's configuration.
type Config struct {
	Pretrained string `json:"pretrained" doc:"a Hugging Face BERT directory (config.json, vocab.txt, model.safetensors or pytorch_model.bin; e.g. ClinicalBERT): sizes from config.json, and vocab and weights default to its files"`
	// Settings are the tokeniser's; vocab is required without pretrained.
	wordpiece.Settings
	Size             string `json:"size" enum:"base|tiny" doc:"BERT-base (768/12/12) or tiny (128/2/2)"`
	Layers           int64  `json:"layers" min:"0" doc:"override the number of layers; 0 keeps the size's"`
	Hidden           int64  `json:"hidden" min:"0" doc:"override the hidden size; 0 keeps the size's"`
	Heads            int64  `json:"heads" min:"0" doc:"override the attention heads; 0 keeps the size's"`
	Pooling          string `json:"pooling" enum:"max|cls" doc:"max over tokens (ConVIRT) or the [CLS] output"`
	FreezeEmbeddings bool   `json:"freeze_embeddings" doc:"freeze the embeddings (the paper does)"`
	FreezeLayers     int    `json:"freeze_layers" min:"0" doc:"freeze the first N transformer layers (the paper: 6)"`
	Weights          string `json:"weights" doc:"optional weights with Hugging Face BERT names (e.g. ClinicalBERT): a .safetensors file, or a torch.save state dict (pytorch_model.bin)"`
	WeightsPrefix    string `json:"weights_prefix" doc:"prefix to strip from the names in weights"`
	torchenc.Common
}

// DefaultConfig is the config before the recipe's keys apply: BERT-base,
// max pooling, embeddings and the first 6 layers frozen (the paper).
func DefaultConfig() Config {
	return Config{Common: torchenc.Defaults(), Settings: wordpiece.Settings{Lowercase: true, MaxLen: 128}, Size: "base", Pooling: "max", FreezeEmbeddings: true, FreezeLayers: 6, WeightsPrefix: "bert."}
}

// Schema is the plugin's config schema, derived from Config's tags with
// DefaultConfig's values.
var Schema = schema.MustDerive(DefaultConfig())

func init() {
	builtin.RegisterEncoder(Name, func() sdk.Encoder { return New() })
}

// Info describes the plugin and its config schema.
func Info() sdk.Info {
	return sdk.Info{Name: Name, Kind: sdk.KindEncoder, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: "text encoder: BERT with WordPiece tokenisation and the ConVIRT projection head", Schema: Schema}
}

// New returns the unconfigured plugin.
func New() *torchenc.Plugin { return torchenc.NewPlugin(Info(), setup) }

type net struct {
	m      *bert.Model
	tok    *wordpiece.Tokenizer
	maxLen int
}

func (n net) FeatureDim() int64 { return n.m.FeatureDim() }

func (n net) Features(b *sdk.Batch, train bool, dev gotch.Device) (*ts.Tensor, error) {
	var s torchx.Scope
	defer s.Free()
	ids, mask, err := n.tokens(&s, b, dev)
	if err != nil {
		return nil, err
	}
	return n.m.Forward(ids, mask, train)
}

func setup(raw map[string]any) (torchenc.Common, torchenc.Builder, error) {
	cfg := DefaultConfig()
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return cfg.Common, nil, err
	}
	if cfg.Pretrained != "" {
		if cfg.Vocab == "" {
			cfg.Vocab = filepath.Join(cfg.Pretrained, "vocab.txt")
		}
		if cfg.Weights == "" {
			cfg.Weights = weights.InDir(cfg.Pretrained)
		}
	}
	if cfg.Vocab == "" {
		return cfg.Common, nil, errors.New("text encoder: config key vocab (or pretrained) is required")
	}
	tok, err := cfg.Load()
	if err != nil {
		return cfg.Common, nil, fmt.Errorf("text encoder: %w", err)
	}
	var bc bert.Config
	switch {
	case cfg.Pretrained != "":
		if bc, err = bert.ReadHFConfig(filepath.Join(cfg.Pretrained, "config.json")); err != nil {
			return cfg.Common, nil, fmt.Errorf("text encoder: %w", err)
		}
		if bc.VocabSize != int64(tok.VocabSize()) {
			return cfg.Common, nil, fmt.Errorf("text encoder: %s has %d tokens, config.json says vocab_size %d", cfg.Vocab, tok.VocabSize(), bc.VocabSize)
		}
	case cfg.Size == "base":
		bc = bert.Base()
		bc.VocabSize = int64(tok.VocabSize())
	case cfg.Size == "tiny":
		bc = bert.Tiny(int64(tok.VocabSize()))
	default:
		return cfg.Common, nil, fmt.Errorf("text encoder: size %q: want base or tiny", cfg.Size)
	}
	if cfg.Layers > 0 {
		bc.Layers = cfg.Layers
	}
	if cfg.Hidden > 0 {
		bc.Hidden = cfg.Hidden
	}
	if cfg.Heads > 0 {
		bc.Heads = cfg.Heads
	}
	bc.Pooling = bert.Pooling(cfg.Pooling)
	bc.FreezeEmbeddings = cfg.FreezeEmbeddings
	bc.FreezeLayers = min(cfg.FreezeLayers, int(bc.Layers))
	build := func(vs *nn.VarStore, p *nn.Path) (torchenc.Net, error) {
		m, err := bert.New(p, bc)
		if err != nil {
			return nil, err
		}
		if cfg.Weights != "" {
			// A BertModel checkpoint carries a pooler and maybe MLM heads the
			// encoder does not use.
			ignore := func(name string) bool {
				return strings.HasPrefix(name, "pooler.") || strings.HasPrefix(name, "cls.") || strings.HasSuffix(name, "position_ids")
			}
			opts := safetensors.LoadOptions{StripPrefix: cfg.WeightsPrefix, VarPrefix: "net.", AllowUnexpected: ignore}
			if err := weights.Load(vs, cfg.Weights, opts); err != nil {
				return nil, err
			}
		}
		return net{m: m, tok: tok, maxLen: cfg.MaxLen}, nil
	}
	return cfg.Common, build, nil
}
