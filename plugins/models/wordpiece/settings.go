package wordpiece

import "errors"

// Settings are a plugin's tokeniser settings: the vocabulary, its casing and
// the length texts are cut to. The configs of the plugins that tokenise
// reports (the text encoder, the captioning losses) embed them, so the keys
// are named, documented and checked once.
type Settings struct {
	Vocab     string `json:"vocab" doc:"WordPiece vocab.txt the texts are tokenised with (ClinicalBERT's, or the synthetic corpus's)"`
	Lowercase bool   `json:"lowercase" doc:"lower-case and strip accents before WordPiece (uncased vocabularies)"`
	MaxLen    int    `json:"max_len" min:"2" max:"512" doc:"tokens per text, [CLS] and [SEP] included; longer texts are cut"`
}

// Load reads the vocabulary s names, with its casing; an empty Vocab is an
// error naming the config key.
func (s Settings) Load() (*Tokenizer, error) {
	if s.Vocab == "" {
		return nil, errors.New("config key vocab is required")
	}
	return Load(s.Vocab, Options{Lowercase: s.Lowercase})
}
