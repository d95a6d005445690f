package text

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestVocabularyErrorsNameTheirCause: no vocab and no pretrained names both
// keys; a vocab file that is not there names the file, not pretrained.
func TestVocabularyErrorsNameTheirCause(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing-vocab.txt")
	for _, tc := range []struct {
		cfg       map[string]any
		want, not string
	}{
		{map[string]any{"size": "tiny"}, "config key vocab (or pretrained) is required", "no such file"},
		{map[string]any{"size": "tiny", "vocab": missing}, "missing-vocab.txt", "pretrained"},
	} {
		p := New()
		err := p.Configure(context.Background(), tc.cfg)
		p.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.not) {
			t.Errorf("Configure(%v) = %v; want an error with %q and without %q", tc.cfg, err, tc.want, tc.not)
		}
	}
}
