package main

import "testing"

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
// this process and the plugin server. Commands that only start plugins
// (run, soak) pass huge pages on through the host instead.
func TestTorchCommands(t *testing.T) {
	want := map[string]bool{"bench model": true, "bench convirt": true, "bench boundary": true, "plugin serve": true}
	for name, c := range commands {
		if c.Torch != want[name] {
			t.Errorf("command %q: Torch %v, want %v", name, c.Torch, want[name])
		}
	}
}
