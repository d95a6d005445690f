package wordpiece

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// MASK is the masked-language-model token, part of every BERT vocabulary
// though the tokenizer itself never emits it.
const MASK = "[MASK]"

// Specials are the special tokens a built vocabulary starts with, in BERT's
// order: [PAD] is id 0.
var Specials = []string{PAD, UNK, CLS, SEP, MASK}

// VocabBuilder counts the words of a corpus with the same basic
// tokenisation a Tokenizer with the same Options applies, so that the
// vocabulary it builds and the tokenizer can never disagree. The zero value
// is not usable; call NewVocabBuilder.
type VocabBuilder struct {
	lower  bool
	counts map[string]int
	chars  map[rune]bool
}

// NewVocabBuilder returns an empty builder for a tokenizer with opts.
func NewVocabBuilder(opts Options) *VocabBuilder {
	return &VocabBuilder{lower: opts.Lowercase, counts: map[string]int{}, chars: map[rune]bool{}}
}

// Add counts the words of text.
func (b *VocabBuilder) Add(text string) {
	for _, w := range basicTokenize(text, b.lower) {
		for _, r := range w {
			b.chars[r] = true
		}
		if len([]rune(w)) <= maxWordChars { // longer words are always [UNK]
			b.counts[w]++
		}
	}
}

// Tokens returns the vocabulary: the Specials, then every whole word seen,
// by descending count then byte order, then every character seen that is
// not already a word, then the "##" continuation form of every character
// seen (both in rune order). Any word made of seen characters therefore
// tokenises without [UNK]. The result depends only on the multiset of words
// added, not on the order of the Add calls.
func (b *VocabBuilder) Tokens() []string {
	words := make([]string, 0, len(b.counts))
	for w := range b.counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		ci, cj := b.counts[words[i]], b.counts[words[j]]
		if ci != cj {
			return ci > cj
		}
		return words[i] < words[j]
	})
	chars := make([]rune, 0, len(b.chars))
	for r := range b.chars {
		chars = append(chars, r)
	}
	sort.Slice(chars, func(i, j int) bool { return chars[i] < chars[j] })

	out := make([]string, 0, len(Specials)+len(words)+2*len(chars))
	out = append(out, Specials...)
	out = append(out, words...)
	for _, r := range chars {
		if _, isWord := b.counts[string(r)]; !isWord {
			out = append(out, string(r))
		}
	}
	for _, r := range chars {
		out = append(out, "##"+string(r))
	}
	return out
}

// BuildVocab returns the vocabulary (see VocabBuilder.Tokens) of texts for a
// tokenizer with opts.
func BuildVocab(texts []string, opts Options) []string {
	b := NewVocabBuilder(opts)
	for _, t := range texts {
		b.Add(t)
	}
	return b.Tokens()
}

// WriteVocab writes tokens in vocab.txt layout: one token per line, the
// line number being the id. A token that is empty or holds a line break
// could not be read back and is an error.
func WriteVocab(w io.Writer, tokens []string) error {
	bw := bufio.NewWriter(w)
	for i, tok := range tokens {
		if tok == "" || strings.ContainsAny(tok, "\r\n") {
			return fmt.Errorf("wordpiece: vocab token %d (%q) cannot be written one per line", i, tok)
		}
		if _, err := bw.WriteString(tok + "\n"); err != nil {
			return fmt.Errorf("wordpiece: write vocab: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("wordpiece: write vocab: %w", err)
	}
	return nil
}
