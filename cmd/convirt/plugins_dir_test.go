package main

import (
	"strings"
	"testing"
)

// --dir on a plugins command still names the plugin directory, but warns
// that it is deprecated and names --plugins; --plugins does not warn.
func TestPluginsDirIsDeprecated(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "plugins", "list", "--dir", dir)
	if code != 0 || !strings.Contains(out, "(no installed plugins in "+dir+")") {
		t.Fatalf("plugins list --dir: exit %d, stderr %q\n%s", code, errs, out)
	}
	if !strings.Contains(errs, "--dir is deprecated") || !strings.Contains(errs, "use --plugins "+dir) {
		t.Errorf("plugins list --dir: stderr %q, want a deprecation warning naming --plugins", errs)
	}
	if code, _, errs := runCLI(t, "plugins", "list", "--plugins", dir); code != 0 || errs != "" {
		t.Errorf("plugins list --plugins: exit %d, stderr %q; want no warning", code, errs)
	}
}

// An unknown plugin name, on the command line or in a recipe, is answered
// with the known plugins and the nearest one.
func TestUnknownPluginNameSuggests(t *testing.T) {
	code, _, errs := runCLI(t, "plugins", "describe", "--plugins", t.TempDir(), "smalcnn")
	if code == 0 || !strings.Contains(errs, `(did you mean "smallcnn"?)`) || !strings.Contains(errs, "encoder bert, resnet, smallcnn") {
		t.Errorf("plugins describe smalcnn: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "recipe", "validate", "--plugins", t.TempDir(), "--set", "image_encoder.plugin=smalcnn", "../../recipes/demo.yaml")
	if code == 0 || !strings.Contains(errs, `unknown encoder plugin "smalcnn"; known encoder plugins: bert, resnet, smallcnn (did you mean "smallcnn"?)`) {
		t.Errorf("recipe validate with image_encoder.plugin=smalcnn: exit %d, stderr %q", code, errs)
	}
}
