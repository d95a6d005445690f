package wordpiece

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nheart\nis\nnormal\nsize\n,\n.\npleural\neff\n##usion\n##s\nleft\nno\n肺\ncafe\nun\n##aff\n##able\n"

func tok(t *testing.T, lower bool) *Tokenizer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(path, []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := Load(path, Options{Lowercase: lower})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTokenize(t *testing.T) {
	tk := tok(t, true)
	cases := map[string][]string{
		"The heart is normal size.":         {"the", "heart", "is", "normal", "size", "."},
		"Left pleural effusions,no  change": {"left", "pleural", "eff", "##usion", "##s", ",", "no", "[UNK]"},
		"Café\u00a0UNAFFABLE":               {"cafe", "un", "##aff", "##able"},
		"肺肺\x00\u200b":                      {"肺", "肺"},
		strings.Repeat("a", 101):            {"[UNK]"},
		"":                                  nil,
	}
	for in, want := range cases {
		if got := tk.Tokenize(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", in, got, want)
		}
	}
	// Cased: no lower-casing, so "The" is unknown and accents stay.
	if got := tok(t, false).Tokenize("The Café"); !reflect.DeepEqual(got, []string{"[UNK]", "[UNK]"}) {
		t.Errorf("cased: %q", got)
	}
}

func TestEncode(t *testing.T) {
	tk := tok(t, true)
	b, err := tk.Encode([]string{"the heart", "normal", "the heart is normal size ."}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if b.N != 3 || b.L != 5 {
		t.Fatalf("shape %dx%d, want 3x5", b.N, b.L)
	}
	wantIDs := []int64{2, 4, 5, 3, 0, 2, 7, 3, 0, 0, 2, 4, 5, 6, 3}
	wantMask := []int64{1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1}
	if !reflect.DeepEqual(b.IDs, wantIDs) || !reflect.DeepEqual(b.Mask, wantMask) {
		t.Errorf("ids %v mask %v", b.IDs, b.Mask)
	}
	// Dynamic padding: a short batch stays short.
	b, _ = tk.Encode([]string{"normal", "no"}, 128)
	if b.L != 3 {
		t.Errorf("padded to %d, want 3", b.L)
	}
	if _, err := tk.Encode([]string{"x"}, 1); err == nil {
		t.Error("maxLen 1 accepted")
	}
	if tk.VocabSize() != 22 || tk.PadID() != 0 || tk.Token(4) != "the" || tk.Token(99) != UNK {
		t.Error("vocab accessors")
	}
}

func TestMissingSpecial(t *testing.T) {
	if _, err := New(strings.NewReader("[PAD]\n[CLS]\n"), Options{}); err == nil || !strings.Contains(err.Error(), "[SEP]") && !strings.Contains(err.Error(), "[UNK]") {
		t.Errorf("got %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.txt"), Options{}); err == nil {
		t.Error("missing file accepted")
	}
}
