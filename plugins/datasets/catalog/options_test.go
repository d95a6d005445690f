package catalog

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// TestDefaultsAreValidOptions: every field's default passes the schema
// and decodes into the Config.
func TestDefaultsAreValidOptions(t *testing.T) {
	for _, d := range All() {
		if err := d.CheckOptions(defaults(d)); err != nil {
			t.Errorf("%s: defaults rejected: %v", d.Name, err)
		}
	}
}

func defaults(d Dataset) map[string]any {
	m := map[string]any{}
	for _, f := range d.Fields {
		if f.Default != nil {
			m[f.Name] = schema.Normalize(f.Default)
		}
	}
	return m
}

// TestSchemaDefaultsMatchReaders opens each dataset with no options and
// with every schema default written out: the readers' own defaults and the
// documented ones must give the same data.
func TestSchemaDefaultsMatchReaders(t *testing.T) {
	cases := []struct{ name, root, split string }{
		{"mimic-cxr", "MIMIC-CXR", "train"}, {"chexpert", "CheXpert-v1.0-small", "train"},
		{"rsna", "RSNA", "valid"}, {"covidx", "COVIDx", "test"}, {"mura", "MURA-v1.1", "valid"},
		{"chexpert-8x200", ".", "text-candidate"},
	}
	for _, c := range cases {
		d, _ := Lookup(c.name)
		root := filepath.Join(corpus, c.root)
		plain, err := Open(c.name, root, c.split)
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := OpenOptions(c.name, root, c.split, defaults(d))
		if err != nil {
			t.Fatal(err)
		}
		if plain.Len() != explicit.Len() || !reflect.DeepEqual(plain.LabelNames(), explicit.LabelNames()) {
			t.Errorf("%s: defaults give %d %v, explicit defaults %d %v", c.name, plain.Len(), plain.LabelNames(), explicit.Len(), explicit.LabelNames())
		}
		for i := range plain.Len() {
			a, _ := plain.Example(i)
			b, _ := explicit.Example(i)
			if a.ID != b.ID || !reflect.DeepEqual(a.Labels, b.Labels) {
				t.Fatalf("%s: example %d: %+v vs %+v", c.name, i, a, b)
			}
		}
	}
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		name string
		opts map[string]any
		want []string
	}{
		{"chexpert", map[string]any{"policy": map[string]any{"Edema": "maybe"}}, []string{"policy.Edema", "ones, zeros, ignore"}},
		{"chexpert", map[string]any{"policy": map[string]any{"Edemas": "ones"}}, []string{"Edemas", "not a CheXpert label"}},
		{"chexpert", map[string]any{"labels": []any{"Cardiomegally"}}, []string{"labels.0", "did you mean Cardiomegaly"}},
		{"chexpert", map[string]any{"split": "valid"}, []string{"split", "not a known key"}},
		{"chexpert", map[string]any{"frontal_onyl": true}, []string{"frontal_onyl", "did you mean frontal_only"}},
		{"mimic-cxr", map[string]any{"views": "PA"}, []string{"views", "list"}},
		{"mimic-cxr", map[string]any{"policy": map[string]any{"Edema": 1}}, []string{"policy.Edema"}},
		{"mura", map[string]any{"body_parts": []any{"XR_KNEE"}}, []string{"body_parts.0", "XR_WRIST"}},
		{"covidx", map[string]any{"variant": "four-class"}, []string{"variant"}},
		{"rsna", map[string]any{"test_frac": 1.5}, []string{"test_frac", "out of range"}},
		{"rsna", map[string]any{"holdout_frac": 0.6}, []string{"holdout_frac", "out of range"}},
		{"rsna", map[string]any{"train_frac": 0.9}, []string{"train_frac", "not a known key"}},
		{"paired", map[string]any{"text_column": "report"}, []string{"text_column", "not a known key"}},
		{"chexpert-8x200", map[string]any{"set": "query"}, []string{"set", "not a known key"}},
	}
	for _, c := range cases {
		d, err := Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		err = d.CheckOptions(c.opts)
		if err == nil {
			t.Errorf("%s %v: accepted", c.name, c.opts)
			continue
		}
		for _, w := range append(c.want, "dataset "+c.name) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %q lacks %q", c.name, c.opts, err, w)
			}
		}
	}
	if _, err := OpenOptions("chexpert", filepath.Join(corpus, "CheXpert-v1.0-small"), "train", map[string]any{"policy": map[string]any{"Edema": "maybe"}}); err == nil {
		t.Error("OpenOptions accepted a bad policy")
	}
}
