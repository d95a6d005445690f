package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/registry"
)

// An unknown plugin name is answered with the plugins that are known,
// grouped by kind (or of the kind asked for), and the nearest of them;
// a name that cannot be a plugin's (upper case) gets the same.
func TestUnknownPluginListsTheKnownOnes(t *testing.T) {
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg.Builtins = plugintest.Builtins()
	for _, name := range []string{"builtin-scal", "Builtin-Scale"} {
		_, err := reg.Describe(context.Background(), name)
		var u *registry.UnknownPluginError
		if !errors.As(err, &u) || u.Suggestion() != "builtin-scale" {
			t.Fatalf("Describe(%s): %v, want an UnknownPluginError suggesting builtin-scale", name, err)
		}
		for _, want := range []string{`(did you mean "builtin-scale"?)`, "known plugins: encoder builtin-scale", "loss builtin-dot"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Describe(%s): %v, want %q in it", name, err, want)
			}
		}
	}
	err = reg.Unknown("builtin-dog", sdk.KindLoss)
	if msg := err.Error(); !strings.HasSuffix(msg, `loss plugin "builtin-dog" is neither built in nor installed in `+reg.Dir+
		` (did you mean "builtin-dot"?); known loss plugins: builtin-dot`) {
		t.Errorf("Unknown(builtin-dog, loss) = %s", msg)
	}
	if names, err := reg.Names(sdk.KindDataset); err != nil || len(names) != 0 {
		t.Errorf("Names(dataset) = %v, %v; want none", names, err)
	}
	if msg := reg.Unknown("x", sdk.KindDataset).Error(); !strings.HasSuffix(msg, "; no dataset plugins are known") {
		t.Errorf("Unknown(x, dataset) = %s", msg)
	}
}
