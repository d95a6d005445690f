// Package wordpiece is BERT's WordPiece tokenizer: basic tokenisation
// (cleaning, CJK spacing, optional lower-casing with accent stripping,
// punctuation splitting) followed by greedy longest-match-first sub-word
// splitting with "##" continuations, read from a vocab.txt of one token per
// line (the line number is the id). BuildVocab and WriteVocab make such a
// vocabulary from a corpus with the same basic tokenisation.
package wordpiece

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Special tokens every BERT vocabulary has.
const (
	CLS = "[CLS]"
	SEP = "[SEP]"
	PAD = "[PAD]"
	UNK = "[UNK]"
)

// maxWordChars is the longest word (in characters) split into pieces; longer
// words become [UNK], as in BERT.
const maxWordChars = 100

// Tokenizer maps text to vocabulary ids.
type Tokenizer struct {
	vocab              map[string]int64
	tokens             []string
	lower              bool
	cls, sep, pad, unk int64
}

// Options configure a Tokenizer.
type Options struct {
	// Lowercase lower-cases and strips accents (uncased models).
	Lowercase bool
}

// New builds a tokenizer from vocab.txt content.
func New(r io.Reader, opts Options) (*Tokenizer, error) {
	t := &Tokenizer{vocab: map[string]int64{}, lower: opts.Lowercase}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r")
		if _, dup := t.vocab[tok]; !dup {
			t.vocab[tok] = int64(len(t.tokens))
		}
		t.tokens = append(t.tokens, tok)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	for _, s := range []struct {
		name string
		id   *int64
	}{{CLS, &t.cls}, {SEP, &t.sep}, {PAD, &t.pad}, {UNK, &t.unk}} {
		id, ok := t.vocab[s.name]
		if !ok {
			return nil, fmt.Errorf("vocab: missing special token %s", s.name)
		}
		*s.id = id
	}
	return t, nil
}

// Load reads a vocab.txt file.
func Load(path string, opts Options) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %w", err)
	}
	defer f.Close()
	t, err := New(f, opts)
	if err != nil {
		return nil, fmt.Errorf("wordpiece %s: %w", path, err)
	}
	return t, nil
}

// VocabSize is the number of lines in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// PadID is the id of [PAD].
func (t *Tokenizer) PadID() int64 { return t.pad }

// Token returns the vocabulary entry for id.
func (t *Tokenizer) Token(id int64) string {
	if id < 0 || id >= int64(len(t.tokens)) {
		return UNK
	}
	return t.tokens[id]
}

// Tokenize splits text into WordPiece tokens (no [CLS]/[SEP]).
func (t *Tokenizer) Tokenize(text string) []string {
	var out []string
	for _, w := range basicTokenize(text, t.lower) {
		out = append(out, t.pieces(w)...)
	}
	return out
}

// pieces splits one word greedily, longest match first.
func (t *Tokenizer) pieces(word string) []string {
	runes := []rune(word)
	if len(runes) > maxWordChars {
		return []string{UNK}
	}
	var out []string
	for start := 0; start < len(runes); {
		end := len(runes)
		found := ""
		for ; end > start; end-- {
			sub := string(runes[start:end])
			if start > 0 {
				sub = "##" + sub
			}
			if _, ok := t.vocab[sub]; ok {
				found = sub
				break
			}
		}
		if found == "" {
			return []string{UNK}
		}
		out = append(out, found)
		start = end
	}
	return out
}

// Batch is a tokenised batch in row-major [N, L] layout, padded to the
// longest sequence in the batch.
type Batch struct {
	N, L int
	// IDs holds token ids: [CLS] tokens [SEP] then [PAD].
	IDs []int64
	// Mask is 1 for real tokens (including [CLS] and [SEP]), 0 for padding.
	Mask []int64
}

// Encode tokenises texts as [CLS] tokens [SEP], truncating each to maxLen
// ids, and pads the batch to its longest sequence (dynamic padding).
func (t *Tokenizer) Encode(texts []string, maxLen int) (*Batch, error) {
	if maxLen < 2 {
		return nil, fmt.Errorf("wordpiece: maxLen %d leaves no room for [CLS] and [SEP]", maxLen)
	}
	rows := make([][]int64, len(texts))
	b := &Batch{N: len(texts)}
	for i, text := range texts {
		toks := t.Tokenize(text)
		if len(toks) > maxLen-2 {
			toks = toks[:maxLen-2]
		}
		row := make([]int64, 0, len(toks)+2)
		row = append(row, t.cls)
		for _, tok := range toks {
			row = append(row, t.vocab[tok])
		}
		rows[i] = append(row, t.sep)
		b.L = max(b.L, len(rows[i]))
	}
	b.IDs = make([]int64, b.N*b.L)
	b.Mask = make([]int64, b.N*b.L)
	for i, row := range rows {
		for j := 0; j < b.L; j++ {
			if j < len(row) {
				b.IDs[i*b.L+j], b.Mask[i*b.L+j] = row[j], 1
			} else {
				b.IDs[i*b.L+j] = t.pad
			}
		}
	}
	return b, nil
}
