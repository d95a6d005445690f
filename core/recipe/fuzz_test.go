package recipe

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the loader: it must return a recipe or
// diagnostics, never panic. The seed corpus (the shipped recipes and some
// malformed inputs) runs as part of go test.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../recipes/*/*.yaml")
	for _, p := range append(files, "../../recipes/demo.yaml") {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "[]", "a", "name: {", "name: x\nsweep: {seed: [1, 2]}\n", "evaluate: [1, {name: 2}]\n",
		"name: x\nimage_encoder: {plugin: r}\nevaluate: [{seeds: 1e12}]\n", "x: &a [*a]\n", "train: {lr: .nan}\n",
		"base: [1]\n", "sweep: {evaluate.99.name: [a]}\nname: a\nimage_encoder: {plugin: r}\n", "? [a]\n: b\n"} {
		f.Add([]byte(s))
	}
	noEnv := func(string) (string, bool) { return "", false }
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.yaml", data, Options{Getenv: noEnv, Sets: []string{"train.lr=1e-3"}})
		if r == nil && err == nil {
			t.Fatal("nil recipe without error")
		}
		if err == nil {
			if _, err := r.YAML(true); err != nil {
				t.Fatal(err)
			}
			if r.SweepSize() <= 16 {
				_, _ = r.Expand(nil)
			}
		}
	})
}
