package bert

import (
	"encoding/json"
	"fmt"
	"os"
)

// hfConfig is the part of a Hugging Face BERT config.json the encoder uses.
type hfConfig struct {
	ModelType        string   `json:"model_type"`
	VocabSize        int64    `json:"vocab_size"`
	Hidden           int64    `json:"hidden_size"`
	Layers           int64    `json:"num_hidden_layers"`
	Heads            int64    `json:"num_attention_heads"`
	Intermediate     int64    `json:"intermediate_size"`
	MaxPositions     int64    `json:"max_position_embeddings"`
	TypeVocabSize    int64    `json:"type_vocab_size"`
	LayerNormEps     *float64 `json:"layer_norm_eps"`
	HiddenDropout    *float64 `json:"hidden_dropout_prob"`
	AttentionDropout *float64 `json:"attention_probs_dropout_prob"`
	HiddenAct        string   `json:"hidden_act"`
}

// ReadHFConfig reads the sizes of a Hugging Face BERT config.json (as in a
// ClinicalBERT download) into a Config with ConVIRT's max pooling. Only BERT
// with exact GELU is accepted, since that is what the encoder computes.
func ReadHFConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("bert: %w", err)
	}
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	if h.ModelType != "" && h.ModelType != "bert" {
		return Config{}, fmt.Errorf("bert: %s: model_type %q, want bert", path, h.ModelType)
	}
	if h.HiddenAct != "" && h.HiddenAct != "gelu" {
		return Config{}, fmt.Errorf("bert: %s: hidden_act %q is not supported (gelu only)", path, h.HiddenAct)
	}
	c := Base()
	c.VocabSize, c.Hidden, c.Layers, c.Heads, c.Intermediate = h.VocabSize, h.Hidden, h.Layers, h.Heads, h.Intermediate
	c.MaxPositions, c.TypeVocabSize = h.MaxPositions, h.TypeVocabSize
	for _, f := range []struct {
		dst *float64
		src *float64
	}{{&c.LayerNormEps, h.LayerNormEps}, {&c.HiddenDropout, h.HiddenDropout}, {&c.AttentionDropout, h.AttentionDropout}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// HFConfigJSON is c as a Hugging Face BertConfig config.json (BertModel,
// exact GELU, absolute positions), the inverse of ReadHFConfig: what
// transformers' BertModel.from_pretrained reads beside the weights.
func HFConfigJSON(c Config) ([]byte, error) {
	c, err := c.resolved()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert", "hidden_act": "gelu",
		"vocab_size": c.VocabSize, "hidden_size": c.Hidden, "num_hidden_layers": c.Layers,
		"num_attention_heads": c.Heads, "intermediate_size": c.Intermediate,
		"max_position_embeddings": c.MaxPositions, "type_vocab_size": c.TypeVocabSize,
		"layer_norm_eps": c.LayerNormEps, "hidden_dropout_prob": c.HiddenDropout,
		"attention_probs_dropout_prob": c.AttentionDropout, "initializer_range": initStd,
		"pad_token_id": 0, "position_embedding_type": "absolute",
	}, "", "  ")
}
