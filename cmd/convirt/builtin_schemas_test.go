package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

var updateSchemas = flag.Bool("update-schemas", false, "rewrite testdata/builtin-schemas.json from the built-ins")

// TestBuiltinSchemas pins the config schema every built-in plugin reports
// (Info's schema, sent over the wire as schema_json and shown by `convirt
// plugins describe`): each is derived from the plugin's config struct
// (schema.Derive), and a change to a tag shows here as a diff of
// testdata/builtin-schemas.json. Rewrite it with -update-schemas after a
// deliberate change. Every key must carry a doc, which derivation requires.
func TestBuiltinSchemas(t *testing.T) {
	got := map[string]schema.Schema{}
	for _, e := range builtin.List() {
		info, err := e.New().Info(context.Background())
		if err != nil {
			t.Fatalf("%s: Info: %v", e.Name, err)
		}
		got[string(e.Kind)+"/"+e.Name] = info.Schema
		var docs func(prefix string, fields []schema.Field)
		docs = func(prefix string, fields []schema.Field) {
			for _, f := range fields {
				if f.Doc == "" {
					t.Errorf("%s: key %s%s has no doc", e.Name, prefix, f.Name)
				}
				docs(prefix+f.Name+".", f.Fields)
			}
		}
		docs("", info.Schema.Fields)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "builtin-schemas.json")
	if *updateSchemas {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-schemas to write it)", err)
	}
	if string(b) != string(want) {
		t.Errorf("built-in schemas differ from %s; if the change is deliberate, rerun with -update-schemas and review the diff", path)
	}
}
