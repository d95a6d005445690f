package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

type mode string

type inner struct {
	P float64 `json:"p" doc:"probability" min:"0" max:"1"`
}

type common struct {
	Root string `json:"root" doc:"data directory" required:"true"`
}

type elem struct {
	Name string `json:"name" doc:"element name" required:"true"`
	N    int    `json:"n" doc:"count" default:"3"`
}

type recursive struct {
	Next *recursive `json:"next" doc:"the next one"`
}

type full struct {
	common
	Tau     float64           `json:"tau" doc:"temperature" min:"1e-6"`
	Size    int               `json:"size,omitempty" doc:"side" min:"8" max:"4096"`
	Mode    mode              `json:"mode" doc:"how" enum:"a|b"`
	On      bool              `json:"on" doc:"switch"`
	CSV     string            `json:"csv" doc:"index file" default:"-"`
	Pair    [2]float64        `json:"pair" doc:"range" min:"0"`
	Mean    []float64         `json:"mean" doc:"means"`
	Labels  []string          `json:"labels" doc:"labels" enum:"x|y"`
	Policy  map[string]string `json:"policy" doc:"per label" enum:"ones|zeros"`
	Sub     inner             `json:"sub" doc:"nested"`
	Items   []elem            `json:"items" doc:"list of sections"`
	Ptr     *int              `json:"ptr" doc:"optional int"`
	Set     string            `json:"set" doc:"from tag" default:"hello"`
	Skipped string            `json:"skipped" schema:"-"`
	Hidden  string            `json:"-"`
	private int
}

func TestDerive(t *testing.T) {
	d := full{Tau: 0.1, Size: 224, Mode: "a", Pair: [2]float64{0.5, 1}, Labels: []string{"x"},
		Policy: map[string]string{"x": "ones"}, Sub: inner{P: 0.5}, private: 1}
	got, err := Derive(&d)
	if err != nil {
		t.Fatal(err)
	}
	want := Schema{Fields: []Field{
		{Name: "root", Type: String, Doc: "data directory", Required: true},
		{Name: "tau", Type: Float, Doc: "temperature", Default: 0.1, Min: Ptr(1e-6)},
		{Name: "size", Type: Int, Doc: "side", Default: 224, Min: Ptr(8), Max: Ptr(4096)},
		{Name: "mode", Type: String, Doc: "how", Default: "a", Enum: []string{"a", "b"}},
		{Name: "on", Type: Bool, Doc: "switch", Default: false},
		{Name: "csv", Type: String, Doc: "index file"},
		{Name: "pair", Type: List, Elem: Float, Doc: "range", Default: []any{0.5, 1.0}, Min: Ptr(0)},
		{Name: "mean", Type: List, Elem: Float, Doc: "means"},
		{Name: "labels", Type: List, Elem: String, Doc: "labels", Default: []any{"x"}, Enum: []string{"x", "y"}},
		{Name: "policy", Type: Map, Elem: String, Doc: "per label", Default: map[string]any{"x": "ones"}, Enum: []string{"ones", "zeros"}},
		{Name: "sub", Type: Object, Doc: "nested", Fields: []Field{
			{Name: "p", Type: Float, Doc: "probability", Default: 0.5, Min: Ptr(0), Max: Ptr(1)}}},
		{Name: "items", Type: List, Elem: Object, Doc: "list of sections", Fields: []Field{
			{Name: "name", Type: String, Doc: "element name", Required: true},
			{Name: "n", Type: Int, Doc: "count", Default: 3}}},
		{Name: "ptr", Type: Int, Doc: "optional int"},
		{Name: "set", Type: String, Doc: "from tag", Default: "hello"},
	}}
	gj, _ := json.MarshalIndent(got, "", " ")
	wj, _ := json.MarshalIndent(want, "", " ")
	if string(gj) != string(wj) {
		t.Errorf("derived schema:\n%s\nwant:\n%s", gj, wj)
	}
	// Go types of defaults are those YAML decoding gives, so applied
	// defaults check like written values.
	if issues := got.Check("", map[string]any{"root": "r"}); len(issues) != 0 {
		t.Errorf("check of a minimal config: %v", issues)
	}
	cfg := map[string]any{"root": "r"}
	got.ApplyDefaults("", cfg)
	if issues := got.Check("", cfg); len(issues) != 0 {
		t.Errorf("check of the defaults: %v", issues)
	}
	if m, ok := cfg["mode"].(string); !ok || m != "a" {
		t.Errorf("default of a named string type: %#v, want string \"a\"", cfg["mode"])
	}
	// Range and enum validation come from the tags.
	issues := got.Check("", map[string]any{"root": "r", "tau": 0.0, "mode": "c", "sub": map[string]any{"p": 2}, "labels": []any{"z"}})
	var msgs []string
	for _, is := range issues {
		msgs = append(msgs, is.Path+": "+is.Message)
	}
	want2 := []string{
		"tau: value 0 is out of range >= 1e-06",
		`mode: value "c" is not one of a, b`,
		`labels.0: value "z" is not one of x, y`,
		"sub.p: value 2 is out of range [0, 1]",
	}
	if strings.Join(msgs, "\n") != strings.Join(want2, "\n") {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want2, "\n"))
	}
}

func TestDeriveOptions(t *testing.T) {
	s, err := Derive(full{}, WithEnum("labels", "p", "q"), Modify("sub.p", func(f *Field) { f.Doc = "changed" }))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Field("labels"); strings.Join(f.Enum, ",") != "p,q" {
		t.Errorf("labels enum %v, want p,q", f.Enum)
	}
	if f, _ := s.Field("sub"); f.Fields[0].Doc != "changed" {
		t.Errorf("sub.p doc %q, want changed", f.Fields[0].Doc)
	}
	type shared struct {
		P map[string]string `json:"p"`
	}
	if s, err := Derive(shared{}, WithDoc("p", "shared doc")); err != nil || s.Fields[0].Doc != "shared doc" {
		t.Errorf("WithDoc: %v, %+v", err, s)
	}
	if _, err := Derive(full{}, WithEnum("nope", "a")); err == nil || !strings.Contains(err.Error(), `no key "nope"`) {
		t.Errorf("option on a missing key: %v", err)
	}
}

func TestDeriveErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"not a struct", 3, "int is not a struct"},
		{"no doc", struct {
			A int `json:"a"`
		}{}, `key "a" has no doc (a doc tag or WithDoc)`},
		{"no doc below", struct {
			S struct {
				B int `json:"b"`
			} `json:"s" doc:"section"`
		}{}, `key "s.b" has no doc`},
		{"recursive type", recursive{}, "nests more than 16 sections"},
		{"no json name", struct {
			A int `doc:"x"`
		}{}, "field .A has no json name"},
		{"bad min", struct {
			A int `json:"a" doc:"x" min:"zero"`
		}{}, "tag min"},
		{"bad default", struct {
			A int `json:"a" doc:"x" default:"many"`
		}{}, `"many" is not an int`},
		{"unsupported type", struct {
			C chan int `json:"c" doc:"x"`
		}{}, "unsupported Go type chan int"},
		{"non-string map key", struct {
			M map[int]int `json:"m" doc:"x"`
		}{}, "map key int is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Derive(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Derive: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := full{Tau: 0.1, Size: 224, Mode: "a", Sub: inner{P: 0.5}, Items: []elem{{Name: "e", N: 1}}}
	if err := Validate(ok); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := ok
	bad.Tau, bad.Mode, bad.Sub.P, bad.Pair = 0, "c", 1.5, [2]float64{-1, 0}
	err := Validate(&bad)
	want := `tau: value 0 is out of range >= 1e-06; mode: value "c" is not one of a, b; pair.0: value -1 is out of range >= 0; sub.p: value 1.5 is out of range [0, 1]`
	if err == nil || err.Error() != want {
		t.Errorf("Validate: %v\nwant: %s", err, want)
	}
}

// TestValidateAs: the owner prefixes Validate's error; a valid config
// stays nil.
func TestValidateAs(t *testing.T) {
	ok := full{Tau: 0.1, Size: 224, Mode: "a", Sub: inner{P: 0.5}, Items: []elem{{Name: "e", N: 1}}}
	if err := ValidateAs("p", ok); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := ok
	bad.Tau = 0
	if err := ValidateAs("p", bad); err == nil || err.Error() != "p: tau: value 0 is out of range >= 1e-06" {
		t.Errorf("ValidateAs = %v", err)
	}
}

// TestDeriveYAMLNames: a struct read from YAML (the recipe) names its keys
// with yaml tags alone; a json tag, when present, wins, and an inline
// embedded struct contributes its keys in place.
func TestDeriveYAMLNames(t *testing.T) {
	type section struct {
		Depth int `yaml:"depth" doc:"how deep" default:"2"`
	}
	type file struct {
		Base    any `yaml:"base" doc:"base file"`
		section `yaml:",inline"`
		Both    string `json:"both_json" yaml:"both_yaml" doc:"named twice"`
		Skipped string `yaml:"-"`
	}
	s, err := Derive(file{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "base,depth,both_json" {
		t.Errorf("keys %s, want base,depth,both_json", got)
	}
	if f, _ := s.Field("depth"); f.Default != 2 || f.Type != Int {
		t.Errorf("depth: %+v", f)
	}
}
