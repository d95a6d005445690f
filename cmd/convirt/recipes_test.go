package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
)

// Every recipe the project ships must load, validate against the schemas of
// the plugins it names, and expand, as `convirt run` would check it.
func TestShippedRecipesValidate(t *testing.T) {
	l, err := newLauncher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(filepath.Join("..", "..", "recipes"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 5 {
		t.Fatalf("recipes found: %v (%v)", files, err)
	}
	for _, f := range files {
		r, err := recipe.Load(f, recipe.Options{Plugins: l.Schema})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := r.Expand(l.Schema); err != nil {
			t.Errorf("%s: expand: %v", f, err)
		}
	}
}
