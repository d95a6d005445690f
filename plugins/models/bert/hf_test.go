package bert

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHFConfigRoundTrip: HFConfigJSON writes what ReadHFConfig reads back.
func TestHFConfigRoundTrip(t *testing.T) {
	c := Tiny(57)
	c.Heads, c.LayerNormEps, c.HiddenDropout = 4, 1e-6, 0.2
	b, err := HFConfigJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadHFConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("read back %+v, wrote %+v", got, c)
	}
	c.Heads = 3 // 128 is not a multiple of 3
	if _, err := HFConfigJSON(c); err == nil {
		t.Fatal("an invalid config was written")
	}
}
