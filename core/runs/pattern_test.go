package runs

import (
	"slices"
	"testing"
)

func TestPatterns(t *testing.T) {
	auc := linearAUC("convirt", "0.1")
	for _, c := range []struct {
		patterns, name string
		want           bool
	}{
		{"auc", auc, true},                      // substring
		{"auc", auc + ":Edema", true},           // substring matches per-label keys too
		{"linear/*/auc", auc, true},             // glob over a trailing part, '*' crossing '/'
		{"linear/*/auc", auc + ":Edema", false}, // a glob matches up to the end
		{"*/auc", "val/loss", false},
		{"auc:*", auc + ":Edema", true},
		{"val/loss", "val/loss", true},
		{"val/loss", "train/loss", false},
		{"f0.?/auc", auc, true},
		{"f[01].1/auc", auc, true},
		{"f[!0].1/auc", auc, false},
		{"inear/*", auc, false}, // a glob starts at a part boundary
		{"tau", "loss.config.tau", true},
		{"config.*", "loss.config.tau", true}, // '.' is a boundary for params
		{"", "anything", false},
		{"x, val/loss", "val/loss", true}, // a list, spaces trimmed
	} {
		ps, err := ParsePatterns(c.patterns)
		if err != nil {
			t.Fatalf("ParsePatterns(%q): %v", c.patterns, err)
		}
		if got := ps.Match(c.name); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.patterns, c.name, got, c.want)
		}
	}
	if _, err := ParsePatterns("auc,f[0"); err == nil {
		t.Error("unclosed [ accepted")
	}
	ps, _ := ParsePatterns("val/loss,linear/*/auc")
	names := []string{linearAUC("convirt", "0.1"), "train/loss", linearAUC("random", "1"), "val/loss"}
	want := []string{"val/loss", linearAUC("convirt", "0.1"), linearAUC("random", "1")}
	if got := ps.Select(names); !slices.Equal(got, want) {
		t.Errorf("Select = %v, want %v (the patterns' order, then the names')", got, want)
	}
}
