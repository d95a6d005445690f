package wordpiece

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSettingsLoadTheVocabularyWithItsCasing(t *testing.T) {
	if _, err := (Settings{}).Load(); err == nil || !strings.Contains(err.Error(), "config key vocab") {
		t.Errorf("no vocab: %v, want an error naming the key", err)
	}
	if _, err := (Settings{Vocab: filepath.Join(t.TempDir(), "missing.txt")}).Load(); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a missing vocab: %v, want an error naming the file", err)
	}
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(path, []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lower := range []bool{false, true} {
		tk, err := Settings{Vocab: path, Lowercase: lower}.Load()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"[UNK]", "is"}
		if lower {
			want = []string{"the", "is"}
		}
		if got := tk.Tokenize("The is"); !reflect.DeepEqual(got, want) {
			t.Errorf("lowercase %v: Tokenize(The is) = %v, want %v", lower, got, want)
		}
	}
}
