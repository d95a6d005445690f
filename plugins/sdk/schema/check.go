package schema

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Issue is one problem found by Check: the dotted key path at fault
// (list elements are numbered, "evaluate.0.name"), what is wrong, and, for an
// unknown key or enum value, the closest valid one ("" when none is close).
type Issue struct {
	Path       string
	Message    string
	Suggestion string
}

// Check validates a config map against the schema and returns every problem
// found: unknown keys, missing required fields, wrong types, values out of
// range, values not in an enum or not matching a pattern. prefix is prepended
// to every path ("" for none). Check never modifies cfg.
func (s Schema) Check(prefix string, cfg map[string]any) []Issue {
	return checkObject(prefix, s.Fields, cfg)
}

// Check validates one value of the field at path.
func (f Field) Check(path string, v any) []Issue {
	if v == nil {
		switch f.Type {
		case Object, Map, List, Any:
			return nil // an empty section: its required members are reported by the caller
		}
		return []Issue{{Path: path, Message: fmt.Sprintf("has no value (expected %s)", f.describe())}}
	}
	switch f.Type {
	case Any:
		return nil
	case Object:
		m, ok := v.(map[string]any)
		if !ok {
			return []Issue{typeIssue(path, f, v)}
		}
		return checkObject(path, f.Fields, m)
	case Map:
		if _, ok := v.(map[string]any); !ok {
			return []Issue{typeIssue(path, f, v)}
		}
		return nil
	case List:
		l, ok := v.([]any)
		if !ok {
			return []Issue{typeIssue(path, f, v)}
		}
		elem := f
		elem.Type = f.Elem
		elem.Required = false
		var out []Issue
		for i, e := range l {
			out = append(out, elem.Check(JoinPath(path, strconv.Itoa(i)), e)...)
		}
		return out
	}
	return f.checkScalar(path, v)
}

func (f Field) checkScalar(path string, v any) []Issue {
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return []Issue{typeIssue(path, f, v)}
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return []Issue{{Path: path, Message: fmt.Sprintf("value %q is not one of %s", s, strings.Join(f.Enum, ", ")),
				Suggestion: Suggest(s, f.Enum)}}
		}
		if f.Pattern != "" {
			re, err := regexp.Compile("^(?:" + f.Pattern + ")$")
			if err != nil {
				return []Issue{{Path: path, Message: fmt.Sprintf("schema pattern %q is invalid: %v", f.Pattern, err)}}
			}
			if !re.MatchString(s) {
				return []Issue{{Path: path, Message: fmt.Sprintf("value %q does not match %s", s, f.Pattern)}}
			}
		}
		return nil
	case Bool:
		if _, ok := v.(bool); !ok {
			return []Issue{typeIssue(path, f, v)}
		}
		return nil
	case Int, Float:
		x, ok := Number(v)
		if !ok || (f.Type == Int && x != math.Trunc(x)) {
			return []Issue{typeIssue(path, f, v)}
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return []Issue{{Path: path, Message: fmt.Sprintf("value %v is not a finite number", v)}}
		}
		if (f.Min != nil && x < *f.Min) || (f.Max != nil && x > *f.Max) {
			return []Issue{{Path: path, Message: fmt.Sprintf("value %v is out of range %s", v, f.Range())}}
		}
		return nil
	}
	return []Issue{{Path: path, Message: fmt.Sprintf("schema has unknown type %q", f.Type)}}
}

func checkObject(prefix string, fields []Field, m map[string]any) []Issue {
	var out []Issue
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
		v, ok := m[f.Name]
		if !ok || (v == nil && f.Type == Object) {
			if f.Required {
				out = append(out, Issue{Path: JoinPath(prefix, f.Name), Message: "is required but missing"})
			}
			if !ok {
				continue
			}
		}
		out = append(out, f.Check(JoinPath(prefix, f.Name), v)...)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(names, k) {
			out = append(out, Issue{Path: JoinPath(prefix, k), Message: "is not a known key", Suggestion: Suggest(k, names)})
		}
	}
	return out
}

func typeIssue(path string, f Field, v any) Issue {
	return Issue{Path: path, Message: fmt.Sprintf("expected %s, got %s %s", f.describe(), TypeOf(v), short(v))}
}

func (f Field) describe() string {
	switch f.Type {
	case List:
		return "a list of " + string(f.Elem)
	case Object:
		return "a section (mapping)"
	case Map:
		return "a mapping"
	}
	return string(f.Type)
}

// Range describes the allowed interval of a numeric field, e.g. "[0, 1]" or
// ">= 1"; "" when unbounded.
func (f Field) Range() string {
	switch {
	case f.Min != nil && f.Max != nil:
		return fmt.Sprintf("[%v, %v]", *f.Min, *f.Max)
	case f.Min != nil:
		return fmt.Sprintf(">= %v", *f.Min)
	case f.Max != nil:
		return fmt.Sprintf("<= %v", *f.Max)
	}
	return ""
}

// TypeOf names the schema type a decoded YAML value has: "string", "int",
// "float", "bool", "list", "map" or "null".
func TypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case float32, float64:
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// Number converts any integer or float value to float64.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func short(v any) string {
	s := fmt.Sprintf("%v", v)
	if _, ok := v.(string); ok {
		s = strconv.Quote(s)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// JoinPath is the dotted key path of key name under prefix ("" at the
// top), as an Issue names it: a list element's name is its index.
func JoinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
