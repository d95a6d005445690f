package wordpiece

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestBuildVocabLayout(t *testing.T) {
	texts := []string{"No pneumothorax.", "Left pneumothorax, small.", "NO effusion;  Café ___."}
	got := BuildVocab(texts, Options{Lowercase: true})
	want := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		// 3x each of "." and "_", 2x "no" and "pneumothorax", then ties by byte order.
		".", "_", "no", "pneumothorax", ",", ";", "cafe", "effusion", "left", "small",
		// characters seen that are not already words, in rune order ...
		"a", "c", "e", "f", "h", "i", "l", "m", "n", "o", "p", "r", "s", "t", "u", "x",
		// ... then every character seen as a continuation.
		"##,", "##.", "##;", "##_", "##a", "##c", "##e", "##f", "##h", "##i", "##l", "##m", "##n", "##o",
		"##p", "##r", "##s", "##t", "##u", "##x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vocab\n got %q\nwant %q", got, want)
	}
	// The order of the texts does not matter.
	rev := []string{texts[2], texts[1], texts[0]}
	if again := BuildVocab(rev, Options{Lowercase: true}); !reflect.DeepEqual(again, got) {
		t.Errorf("order-dependent vocab: %q", again)
	}
	// Cased: the words keep their case and accents.
	cased := BuildVocab([]string{"NO Café"}, Options{})
	if !reflect.DeepEqual(cased[5:7], []string{"Café", "NO"}) {
		t.Errorf("cased words %q", cased[5:7])
	}
}

// TestBuiltVocabTokenizes round-trips a built vocabulary through WriteVocab
// and New: the corpus tokenises into whole words, and unseen words made of
// seen characters split into characters instead of [UNK].
func TestBuiltVocabTokenizes(t *testing.T) {
	texts := []string{"The heart is mildly enlarged.", "Right pleural effusion (moderate), 1.4 cm nodule!", "肺 No acute process."}
	var buf bytes.Buffer
	if err := WriteVocab(&buf, BuildVocab(texts, Options{Lowercase: true})); err != nil {
		t.Fatal(err)
	}
	tk, err := New(&buf, Options{Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	if tk.PadID() != 0 || tk.Token(1) != UNK || tk.Token(4) != MASK {
		t.Errorf("specials: pad %d, 1 %q, 4 %q", tk.PadID(), tk.Token(1), tk.Token(4))
	}
	for _, text := range texts {
		toks := tk.Tokenize(text)
		if want := basicTokenize(text, true); !reflect.DeepEqual(toks, want) {
			t.Errorf("Tokenize(%q) = %q, want whole words %q", text, toks, want)
		}
	}
	if got, want := tk.Tokenize("Pleurisy"), []string{"p", "##l", "##e", "##u", "##r", "##i", "##s", "##y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unseen word: %q, want %q", got, want)
	}
	if got := tk.Tokenize("zebra"); !reflect.DeepEqual(got, []string{UNK}) {
		t.Errorf("word with an unseen character: %q", got)
	}
}

func TestVocabBuilderSkipsOverlongWords(t *testing.T) {
	long := strings.Repeat("ab", 60)
	toks := BuildVocab([]string{long}, Options{Lowercase: true})
	want := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b"}
	if !reflect.DeepEqual(toks, want) {
		t.Errorf("got %q, want %q", toks, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteVocabErrors(t *testing.T) {
	for _, bad := range [][]string{{"ok", ""}, {"a\nb"}} {
		if err := WriteVocab(&bytes.Buffer{}, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := WriteVocab(failWriter{}, []string{"a"}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: %v", err)
	}
}
