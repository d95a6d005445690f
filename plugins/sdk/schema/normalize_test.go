package schema

import (
	"reflect"
	"testing"
)

// TestNormalizeNonStringKeys: a YAML mapping with keys that are not strings
// (map[any]any) becomes a map[string]any keyed by their text, at any depth,
// as --set parses a mapping.
func TestNormalizeNonStringKeys(t *testing.T) {
	in := map[string]any{"a": []any{map[any]any{1: map[any]any{true: []int{2}}}}}
	want := map[string]any{"a": []any{map[string]any{"1": map[string]any{"true": []any{2}}}}}
	if got := Normalize(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %#v, want %#v", got, want)
	}
	v, err := Field{Type: Map}.ParseValue("{1: {2: x}}")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"1": map[string]any{"2": "x"}}; !reflect.DeepEqual(v, want) {
		t.Errorf("ParseValue = %#v, want %#v", v, want)
	}
}
