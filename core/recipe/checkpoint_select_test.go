package recipe

import (
	"strings"
	"testing"
)

// TestCheckpointSelect: an evaluation uses the best pretrained weights
// unless it asks for the last; other values are errors naming the key.
func TestCheckpointSelect(t *testing.T) {
	r, err := Parse("r.yaml", []byte(baseRecipe), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Evaluate[0].CheckpointSelect; got != CheckpointBest {
		t.Errorf("default checkpoint_select %q, want %q", got, CheckpointBest)
	}
	r, err = Parse("r.yaml", []byte(baseRecipe), Options{Getenv: env(nil), Sets: []string{"evaluate.0.checkpoint_select=last"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Evaluate[0].CheckpointSelect; got != CheckpointLast {
		t.Errorf("checkpoint_select %q, want %q", got, CheckpointLast)
	}
	_, err = Parse("r.yaml", []byte(baseRecipe+"    checkpoint_select: newest\n"), Options{Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "evaluate.0.checkpoint_select") {
		t.Errorf("checkpoint_select: newest: err = %v, want one naming the key", err)
	}
}
