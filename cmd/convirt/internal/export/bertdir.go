package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// bertDir is what the README says of the exported text encoder.
type bertDir struct {
	cfg       bert.Config
	vocab     string // the vocab.txt copied
	lowercase bool
	pooling   string
}

// writeBERTDir completes the Hugging Face directory dir, which holds the
// network's model.safetensors already: config.json (sizes from the tensors'
// shapes; heads, layer-norm epsilon and dropout from the text encoder's
// config as the "bert" plugin reads it), vocab.txt (the vocabulary the run
// used) and tokenizer_config.json (lower-casing, maximum length). It
// returns the files written.
func writeBERTDir(dir string, ref *recipe.PluginRef, net *safetensors.File) ([]string, *bertDir, error) {
	raw := ref.Config
	str := func(k, def string) string {
		if v, ok := raw[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	num := func(k string) int64 {
		n, _ := schema.Number(raw[k])
		return int64(n)
	}
	lower := true
	if v, ok := raw["lowercase"].(bool); ok {
		lower = v
	}
	// The sizes the plugin chose, as text.setup does: a pretrained
	// directory's config.json, or the named size, with overrides.
	c := bert.Base()
	pretrained := str("pretrained", "")
	switch {
	case pretrained != "":
		var err error
		if c, err = bert.ReadHFConfig(filepath.Join(pretrained, "config.json")); err != nil {
			return nil, nil, fmt.Errorf("the run's pretrained directory: %w", err)
		}
	case str("size", "base") == "tiny":
		c = bert.Tiny(1)
	}
	if h := num("heads"); h > 0 {
		c.Heads = h
	}
	shape := func(name string, dims int) ([]int64, error) {
		t, ok := net.Tensors[name]
		if !ok || len(t.Shape) != dims {
			return nil, fmt.Errorf("the network has no %s of %d dimensions: not the built-in BERT", name, dims)
		}
		return t.Shape, nil
	}
	for _, s := range []struct {
		name     string
		rows, hd *int64
	}{
		{"embeddings.word_embeddings.weight", &c.VocabSize, &c.Hidden},
		{"embeddings.position_embeddings.weight", &c.MaxPositions, nil},
		{"embeddings.token_type_embeddings.weight", &c.TypeVocabSize, nil},
		{"encoder.layer.0.intermediate.dense.weight", &c.Intermediate, nil},
	} {
		sh, err := shape(s.name, 2)
		if err != nil {
			return nil, nil, err
		}
		*s.rows = sh[0]
		if s.hd != nil {
			*s.hd = sh[1]
		}
	}
	c.Layers = 0
	for name := range net.Tensors {
		if rest, ok := strings.CutPrefix(name, "encoder.layer."); ok {
			if n, err := strconv.Atoi(rest[:strings.IndexByte(rest+".", '.')]); err == nil && int64(n)+1 > c.Layers {
				c.Layers = int64(n) + 1
			}
		}
	}
	c.Pooling = bert.Pooling(str("pooling", string(bert.PoolMax)))
	conf, err := bert.HFConfigJSON(c)
	if err != nil {
		return nil, nil, fmt.Errorf("config.json: %w", err)
	}
	vocab := str("vocab", "")
	if vocab == "" && pretrained != "" {
		vocab = filepath.Join(pretrained, "vocab.txt")
	}
	words, err := os.ReadFile(vocab)
	if err != nil {
		return nil, nil, fmt.Errorf("the run's vocabulary (text_encoder.config.vocab or pretrained; a relative path is read from the directory convirt runs in, as the run did): %w", err)
	}
	tk, err := wordpiece.New(bytes.NewReader(words), wordpiece.Options{Lowercase: lower})
	if err != nil {
		return nil, nil, fmt.Errorf("vocabulary %s: %w", vocab, err)
	}
	if n := tk.VocabSize(); int64(n) != c.VocabSize {
		return nil, nil, fmt.Errorf("vocabulary %s has %d tokens, the network's embeddings %d: not the vocabulary the run used", vocab, n, c.VocabSize)
	}
	maxLen := num("max_len")
	if maxLen == 0 {
		maxLen = 128 // the plugin's default
	}
	tok, err := json.MarshalIndent(map[string]any{"tokenizer_class": "BertTokenizer", "do_lower_case": lower,
		"model_max_length": maxLen}, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{"config.json": conf, "vocab.txt": words, "tokenizer_config.json": tok}
	names := []string{"config.json", "vocab.txt", "tokenizer_config.json"}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return nil, nil, err
		}
	}
	return names, &bertDir{cfg: c, vocab: vocab, lowercase: lower, pooling: string(c.Pooling)}, nil
}
