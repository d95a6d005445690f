package synth

import (
	"io"
	"path/filepath"

	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// VocabFile is the name, under the corpus directory, of the WordPiece
// vocabulary Write produces.
const VocabFile = "vocab.txt"

// VocabOptions are the tokenizer options the vocabulary is built for: uncased,
// as the "bert" encoder's default lowercase: true. A cased tokenizer would
// turn capitalised words into [UNK].
var VocabOptions = wordpiece.Options{Lowercase: true}

// newVocab returns a builder seeded with the label names every dataset's
// label files use (for class-name prompts); the writers add their texts.
func newVocab() *wordpiece.VocabBuilder {
	b := wordpiece.NewVocabBuilder(VocabOptions)
	for _, name := range CheXpertColumns {
		b.Add(name)
	}
	return b
}

// writeVocab writes dir/VocabFile atomically.
func writeVocab(dir string, b *wordpiece.VocabBuilder) error {
	toks := b.Tokens()
	return atomicfile.WriteFunc(filepath.Join(dir, VocabFile), 0o644, func(w io.Writer) error {
		return wordpiece.WriteVocab(w, toks)
	})
}

// CorpusVersion changes whenever what Write produces changes (files, layout,
// content), so that callers reusing a corpus written earlier can tell it is
// stale. Version 2 added vocab.txt.
const CorpusVersion = 2
