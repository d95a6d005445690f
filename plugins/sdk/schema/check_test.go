package schema

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

var testSchema = Schema{Fields: []Field{
	{Name: "name", Type: String, Required: true, Doc: "run name"},
	{Name: "lr", Type: Float, Default: 1e-4, Min: Ptr(0), Doc: "learning rate"},
	{Name: "epochs", Type: Int, Default: 10, Min: Ptr(1), Max: Ptr(1000), Doc: "epochs"},
	{Name: "optimizer", Type: String, Default: "adam", Enum: []string{"adam", "adamw", "sgd"}, Doc: "optimizer"},
	{Name: "device", Type: String, Default: "cpu", Pattern: `cpu|cuda(:[0-9]+)?`, Doc: "device"},
	{Name: "flip", Type: Bool, Default: false, Doc: "flip"},
	{Name: "fractions", Type: List, Elem: Float, Default: []float64{1}, Min: Ptr(0), Max: Ptr(1), Doc: "fractions"},
	{Name: "schedule", Type: Object, Doc: "schedule", Fields: []Field{
		{Name: "kind", Type: String, Default: "plateau", Enum: []string{"plateau", "cosine", "none"}, Doc: "kind"},
		{Name: "patience", Type: Int, Default: 5, Min: Ptr(0), Doc: "patience"},
	}},
	{Name: "synth", Type: Object, Doc: "optional section", Fields: []Field{
		{Name: "root", Type: String, Required: true, Doc: "root"},
	}},
	{Name: "evals", Type: List, Elem: Object, Doc: "evaluations", Fields: []Field{
		{Name: "name", Type: String, Required: true, Doc: "name"},
		{Name: "seeds", Type: Int, Default: 5, Doc: "seeds"},
	}},
	{Name: "config", Type: Map, Doc: "free-form"},
}}

func TestCheckReportsEveryProblem(t *testing.T) {
	cfg := map[string]any{
		"lrr":       0.1,
		"epochs":    0,
		"optimizer": "adamm",
		"device":    "gpu",
		"flip":      "yes",
		"fractions": []any{0.5, 2.0},
		"schedule":  map[string]any{"kind": "cosine", "patiense": 3},
		"synth":     map[string]any{},
		"evals":     []any{map[string]any{"seeds": 1.5}},
		"config":    []any{1},
	}
	got := map[string]Issue{}
	for _, is := range testSchema.Check("", cfg) {
		got[is.Path] = is
	}
	want := map[string]string{
		"name":              "is required but missing",
		"lrr":               "is not a known key",
		"epochs":            "value 0 is out of range [1, 1000]",
		"optimizer":         `value "adamm" is not one of adam, adamw, sgd`,
		"device":            `value "gpu" does not match`,
		"flip":              `expected bool, got string "yes"`,
		"fractions.1":       "value 2 is out of range [0, 1]",
		"schedule.patiense": "is not a known key",
		"synth.root":        "is required but missing",
		"evals.0.name":      "is required but missing",
		"evals.0.seeds":     "expected int, got float 1.5",
		"config":            "expected a mapping, got list",
	}
	for path, msg := range want {
		is, ok := got[path]
		if !ok {
			t.Errorf("no issue for %s; got %v", path, got)
			continue
		}
		if !strings.Contains(is.Message, msg) {
			t.Errorf("%s: message %q, want it to contain %q", path, is.Message, msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d issues, want %d: %v", len(got), len(want), got)
	}
	sugg := map[string]string{"lrr": "lr", "optimizer": "adam", "schedule.patiense": "patience"}
	for path, s := range sugg {
		if got[path].Suggestion != s {
			t.Errorf("%s: suggestion %q, want %q", path, got[path].Suggestion, s)
		}
	}
}

func TestApplyDefaults(t *testing.T) {
	cfg := map[string]any{"name": "x", "evals": []any{map[string]any{"name": "a"}}}
	set := testSchema.ApplyDefaults("", cfg)
	if issues := testSchema.Check("", cfg); len(issues) != 0 {
		t.Fatalf("defaults do not validate: %v", issues)
	}
	if _, ok := cfg["synth"]; ok {
		t.Error("optional section with required members was created")
	}
	if cfg["schedule"].(map[string]any)["kind"] != "plateau" {
		t.Errorf("schedule defaults not applied: %v", cfg["schedule"])
	}
	if !reflect.DeepEqual(cfg["fractions"], []any{1.0}) {
		t.Errorf("fractions = %#v", cfg["fractions"])
	}
	if cfg["evals"].([]any)[0].(map[string]any)["seeds"] != 5 {
		t.Errorf("list element defaults not applied: %v", cfg["evals"])
	}
	if !slices.Contains(set, "schedule.patience") || !slices.Contains(set, "evals.0.seeds") || slices.Contains(set, "name") {
		t.Errorf("defaulted paths = %v", set)
	}
}

func TestLookupAndParse(t *testing.T) {
	cases := []struct {
		path, text string
		want       any
	}{
		{"lr", "1e-3", 1e-3},
		{"epochs", "7", 7},
		{"flip", "true", true},
		{"fractions", "[0.1, 1]", []any{0.1, 1.0}},
		{"fractions", "0.01,0.1", []any{0.01, 0.1}},
		{"schedule.kind", "cosine", "cosine"},
		{"evals.0.seeds", "3", 3},
		{"config.depth", "4", 4},
	}
	for _, c := range cases {
		f, _, is := testSchema.Lookup(strings.Split(c.path, "."))
		if is != nil {
			t.Fatalf("%s: %v", c.path, is)
		}
		v, err := f.ParseValue(c.text)
		if err != nil || !reflect.DeepEqual(v, c.want) {
			t.Errorf("%s=%s: got %#v, %v; want %#v", c.path, c.text, v, err, c.want)
		}
	}
	if _, _, is := testSchema.Lookup([]string{"schedule", "kidn"}); is == nil || is.Suggestion != "kind" || is.Path != "schedule.kidn" {
		t.Errorf("unknown key lookup: %+v", is)
	}
	f, _, _ := testSchema.Lookup([]string{"epochs"})
	if _, err := f.ParseValue("many"); err == nil {
		t.Error("int parse of text succeeded")
	}
}

func TestSuggest(t *testing.T) {
	if s := Suggest("batchsize", []string{"batch_size", "epochs"}); s != "batch_size" {
		t.Errorf("got %q", s)
	}
	if s := Suggest("zzzz", []string{"batch_size", "epochs"}); s != "" {
		t.Errorf("far name got suggestion %q", s)
	}
}
