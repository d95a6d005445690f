package recipe

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// An unknown plugin name in a recipe is answered, at its file and line,
// with the known plugins of that kind and the nearest of them, when the
// loader is given the names (Options.PluginNames).
func TestUnknownPluginListsTheKnownOnes(t *testing.T) {
	bad := strings.Replace(baseRecipe, "plugin: resnet", "plugin: resnt", 1)
	bad = strings.Replace(bad, "dataset: {plugin: chexpert}", "dataset: {plugin: chexpret}", 1)
	dir := writeFiles(t, map[string]string{"r.yaml": bad})
	lookup := func(name string) (schema.Schema, bool) { return pluginSchemas[name], pluginSchemas[name].Fields != nil }
	names := func(kind string) []string {
		return map[string][]string{KindEncoder: {"bert", "resnet", "smallcnn"}, KindDataset: {"chexpert", "rsna"}}[kind]
	}
	_, err := Load(filepath.Join(dir, "r.yaml"), Options{Plugins: lookup, PluginNames: names, Getenv: env(nil)})
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("Load: %v, want diagnostics", err)
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.Path] = d.String()
	}
	for path, want := range map[string]string{
		"image_encoder.plugin":      `r.yaml:4: key image_encoder.plugin: unknown encoder plugin "resnt"; known encoder plugins: bert, resnet, smallcnn (did you mean "resnet"?)`,
		"evaluate.0.dataset.plugin": `unknown dataset plugin "chexpret"; known dataset plugins: chexpert, rsna (did you mean "chexpert"?)`,
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: %q, want %q in it", path, got[path], want)
		}
	}
	// Without the names, the message is as before.
	_, err = Load(filepath.Join(dir, "r.yaml"), Options{Plugins: lookup, Getenv: env(nil)})
	if err == nil || strings.Contains(err.Error(), "known encoder plugins") {
		t.Errorf("without PluginNames: %v", err)
	}
}
