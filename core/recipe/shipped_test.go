package recipe

import (
	"os"
	"path/filepath"
	"testing"
)

// shippedPlugins are the plugin names the shipped recipes may use, by kind.
var shippedPlugins = map[string][]string{
	KindEncoder:   {"resnet", "smallcnn", "bert"},
	KindLoss:      {"convirt", "clip", "contrastive-binary", "caption-lstm", "caption-transformer", "gloria"},
	KindDataset:   {"mimic-cxr", "paired", "chexpert", "rsna", "covidx", "mura", "chexpert-8x200", "synth"},
	KindEvaluator: {"linear", "finetune", "retrieval", "zeroshot"},
}

func shippedRecipes(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../../recipes", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".yaml" {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 6 {
		t.Fatalf("shipped recipes: %v (found %d)", err, len(files))
	}
	return files
}

// TestShippedRecipesValidate loads every recipe under recipes/, without any
// environment, and checks it against the schema; plugin configs are checked
// structurally (the plugin names must be the built-in ones).
func TestShippedRecipesValidate(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, f := range shippedRecipes(t) {
		r, err := Load(f, Options{Getenv: noEnv})
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		for _, u := range r.Plugins() {
			if !contains(shippedPlugins[u.Kind], u.Name) {
				t.Errorf("%s: %s names unknown %s plugin %q", f, u.Path, u.Kind, u.Name)
			}
		}
		if _, err := r.Expand(nil); err != nil {
			t.Errorf("%s: expand: %v", f, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
