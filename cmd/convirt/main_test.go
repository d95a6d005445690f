package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		args  []string
		name  string
		words int
	}{
		{[]string{"bench", "model", "--arch", "resnet18"}, "bench model", 2},
		{[]string{"plugins", "index", "add", "x"}, "plugins index add", 3},
		{[]string{"run", "recipe.yaml"}, "run", 1},
		{[]string{"bench"}, "", 0},
		{[]string{"nope", "model"}, "", 0},
		{nil, "", 0},
	} {
		cmd, n := lookup(c.args)
		name := ""
		if cmd != nil {
			name = cmd.Name
		}
		if name != c.name || n != c.words {
			t.Errorf("lookup(%q) = %q, %d; want %q, %d", c.args, name, n, c.name, c.words)
		}
	}
}

// TestTorchCommands pins which commands run libtorch in their own process
// and so start on huge pages (core/thp): the benchmarks that time a step in
// this process, the plugin server, and weights convert (libtorch's
// unpickler reads a torch.save file, plugins/models/torchpickle). Commands
// that only start plugins (run, soak) pass huge pages on through the host
// instead.
func TestTorchCommands(t *testing.T) {
	want := map[string]bool{"bench model": true, "bench convirt": true, "bench boundary": true, "bench distributed": true, "plugin serve": true, "weights convert": true}
	for name, c := range commands {
		if c.Torch != want[name] {
			t.Errorf("command %q: Torch %v, want %v", name, c.Torch, want[name])
		}
	}
}

// TestBuiltinsServedByPluginServe: the arguments convirt hands the registry
// for each built-in (serveArgs) are the `plugin serve NAME` command, and
// the registry it builds resolves every built-in to them.
func TestBuiltinsServedByPluginServe(t *testing.T) {
	b := builtins()
	if len(b.Entries) == 0 {
		t.Fatal("no built-ins linked into convirt")
	}
	for _, e := range b.Entries {
		args := serveArgs(e.Name)
		c, n := lookup(args)
		if c == nil || c.Name != "plugin serve" || len(args[n:]) != 1 || args[n] != e.Name {
			t.Errorf("%s: serveArgs %q do not reach `plugin serve NAME`", e.Name, args)
		}
		spec, err := builtinRegistry().Spec(e.Name)
		if err != nil || !spec.BuiltIn || spec.Kind != e.Kind || !slices.Equal(spec.Args, args) {
			t.Errorf("%s: spec %+v (%v), want the built-in served by %q", e.Name, spec, err, args)
		}
	}
}

// TestPluginsListShowsBuiltins: `convirt plugins list` lists the built-ins
// it hands the registry, with an empty plugin directory.
func TestPluginsListShowsBuiltins(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"plugins", "list", "-dir", t.TempDir()}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"convirt ", "finetune ", "mimic-cxr ", "smallcnn ", "built-in", "(no installed plugins in "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plugins list lacks %q:\n%s", want, out.String())
		}
	}
}
