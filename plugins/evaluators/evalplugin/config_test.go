package evalplugin

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestConfigureAgreesWithSchema: every built-in evaluator's Configure
// refuses what its reported schema refuses, naming the key, because both
// come from the config struct's tags (before, retrieval's Configure took
// ks [0], which its schema refuses, and finetune's took a negative in).
func TestConfigureAgreesWithSchema(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		ev   sdk.Evaluator
		cfg  map[string]any
		want string
	}{
		{NewRetrieval(), map[string]any{"ks": []any{5, 0}}, "ks.1: value 0 is out of range >= 1"},
		{NewFinetune(), map[string]any{"in": -1}, "in: value -1 is out of range >= 0"},
		{NewLinear(), map[string]any{"val_fraction": 0.9}, "val_fraction: value 0.9 is out of range [0, 0.5]"},
		{NewZeroShot(), map[string]any{"bootstrap": 3}, "bootstrap: value 3 is out of range >= 10"},
	} {
		info, err := c.ev.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iss := info.Schema.Check("", c.cfg); len(iss) == 0 {
			t.Errorf("%s: schema accepts %v", info.Name, c.cfg)
		}
		if err := c.ev.Configure(ctx, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Configure(%v): %v, want an error containing %q", info.Name, c.cfg, err, c.want)
		}
	}
}

// TestRetrievalDefaultsNotShared: configuring ks decodes into a fresh
// slice, so the defaults of a later evaluator stay the paper's (the
// package-level default slice was overwritten in place by a config's ks).
func TestRetrievalDefaultsNotShared(t *testing.T) {
	if err := NewRetrieval().Configure(context.Background(), map[string]any{"ks": []any{7, 1}}); err != nil {
		t.Fatal(err)
	}
	if got := NewRetrieval().cfg.Ks; !reflect.DeepEqual(got, []int64{5, 10, 50}) {
		t.Errorf("defaults after a configure: ks %v, want [5 10 50]", got)
	}
}
