package schema

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Field returns the top-level field called name.
func (s Schema) Field(name string) (Field, bool) {
	return find(s.Fields, name)
}

func find(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Lookup walks a dotted key path (split into its segments) through the
// schema: into Object members, and into the elements of a List of Object by
// index ("evaluate", "0", "name"). It stops at a Map or Any field and returns
// the segments left below it. An unknown segment is reported as an Issue with
// the closest valid name as its Suggestion.
func (s Schema) Lookup(path []string) (Field, []string, *Issue) {
	fields := s.Fields
	for i := 0; i < len(path); i++ {
		f, ok := find(fields, path[i])
		if !ok {
			return Field{}, nil, &Issue{Path: strings.Join(path[:i+1], "."), Message: "is not a known key",
				Suggestion: Suggest(path[i], names(fields))}
		}
		rest := path[i+1:]
		switch {
		case len(rest) == 0 || f.Type == Map || f.Type == Any:
			return f, rest, nil
		case f.Type == Object:
			fields = f.Fields
		case f.Type == List && f.Elem == Object:
			if _, err := strconv.Atoi(rest[0]); err != nil {
				return Field{}, nil, &Issue{Path: strings.Join(path[:i+2], "."), Message: "must be a list index (0, 1, ...)"}
			}
			if len(rest) == 1 {
				elem := f
				elem.Type, elem.Required, elem.Default = Object, false, nil
				return elem, nil, nil
			}
			fields = f.Fields
			i++
		default:
			return Field{}, nil, &Issue{Path: strings.Join(path[:i+2], "."), Message: fmt.Sprintf("%s is a %s, not a section", strings.Join(path[:i+1], "."), f.Type)}
		}
	}
	return Field{Type: Object, Fields: fields}, nil, nil
}

// ApplyDefaults fills in the defaults of missing fields of cfg in place and
// returns the dotted paths it set (with prefix prepended). A missing Object is
// created with its members' defaults unless it has required members (directly
// or below), in which case it is an optional section left absent, unless it is
// itself required. Elements of a List of Object get their members' defaults.
func (s Schema) ApplyDefaults(prefix string, cfg map[string]any) []string {
	return applyDefaults(prefix, s.Fields, cfg)
}

func applyDefaults(prefix string, fields []Field, m map[string]any) []string {
	var set []string
	for _, f := range fields {
		path := JoinPath(prefix, f.Name)
		v, ok := m[f.Name]
		switch f.Type {
		case Object:
			sub, isMap := v.(map[string]any)
			if !isMap {
				if (ok && v != nil) || (!f.Required && requiredBelow(f.Fields)) {
					continue // wrong type (reported by Check) or an optional section
				}
				sub = map[string]any{}
				m[f.Name] = sub
			}
			set = append(set, applyDefaults(path, f.Fields, sub)...)
			continue
		case List:
			if l, isList := v.([]any); isList && f.Elem == Object {
				for i, e := range l {
					if em, isMap := e.(map[string]any); isMap {
						set = append(set, applyDefaults(JoinPath(path, strconv.Itoa(i)), f.Fields, em)...)
					}
				}
			}
		}
		if !ok && f.Default != nil {
			m[f.Name] = Normalize(f.Default)
			set = append(set, path)
		}
	}
	return set
}

func requiredBelow(fields []Field) bool {
	for _, f := range fields {
		if f.Required || (f.Type == Object && requiredBelow(f.Fields)) {
			return true
		}
	}
	return false
}

// anys copies a slice into a []any.
func anys[T any](x []T) []any {
	out := make([]any, len(x))
	for i, e := range x {
		out[i] = e
	}
	return out
}

// Normalize converts Go values to the shapes YAML decoding produces (slices
// to []any, maps to map[string]any, a mapping's non-string keys to their
// text, sized ints to int), copying as it goes.
func Normalize(v any) any {
	switch x := v.(type) {
	case []string:
		return anys(x)
	case []float64:
		return anys(x)
	case []int:
		return anys(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case map[any]any: // YAML's mapping with a key that is not a string
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = Normalize(e)
		}
		return out
	case int64:
		return int(x)
	case int32:
		return int(x)
	case float32:
		return float64(x)
	}
	return v
}

// ParseValue converts command-line text (from `--set key=text`) to a value of
// the field's type: numbers, booleans and strings as written; a List as
// "[a,b]" or "a,b" with each element converted to Elem; a Map, Object or Any
// as YAML ("{a: 1}"). Text that does not fit the type is an error.
func (f Field) ParseValue(text string) (any, error) {
	switch f.Type {
	case String:
		return text, nil
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("%q is not a bool (true or false)", text)
		}
		return b, nil
	case Int:
		t := strings.TrimSpace(text)
		if n, err := strconv.Atoi(t); err == nil {
			return n, nil
		}
		if x, err := strconv.ParseFloat(t, 64); err == nil && x == float64(int(x)) {
			return int(x), nil
		}
		return nil, fmt.Errorf("%q is not an int", text)
	case Float:
		x, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a float", text)
		}
		return x, nil
	case List:
		if f.Elem == Object || f.Elem == Map || f.Elem == Any {
			return parseYAML(text)
		}
		t := strings.TrimSpace(text)
		t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
		out := []any{}
		if strings.TrimSpace(t) == "" {
			return out, nil
		}
		elem := Field{Type: f.Elem}
		for _, part := range strings.Split(t, ",") {
			v, err := elem.ParseValue(strings.TrimSpace(part))
			if err != nil {
				return nil, fmt.Errorf("list element: %w", err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	return parseYAML(text)
}

func parseYAML(text string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("%q is not valid YAML: %v", text, err)
	}
	return Normalize(v), nil
}

func names(fields []Field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}

// Suggest returns the candidate closest to name by edit distance, or "" when
// none is close enough to be a plausible typo.
func Suggest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(name)/3) || bestD >= len(name) {
		return ""
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
