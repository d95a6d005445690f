package schema

import (
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"strings"
)

// Derive returns the schema of a config struct, so that the struct is the
// one definition of a plugin's settings: the schema the plugin reports, its
// defaults, documentation and range/enum checks all come from it.
//
// v is a struct (or a pointer to one) holding the defaults, usually what the
// plugin's DefaultConfig returns. Each exported field becomes one key:
//
//   - name: the json tag's name, or the yaml tag's where there is no json
//     tag (a config read only from YAML); `json:"-"` (`yaml:"-"`), a
//     `schema:"-"` tag (a field the plugin sets itself, not a config key) and
//     unexported fields are left out. An embedded struct without a name
//     (`yaml:",inline"`) contributes its fields in place.
//   - type: from the Go type: string kinds String, integer kinds Int, float
//     kinds Float, bool Bool, slices and arrays List (Elem from the element;
//     a list of structs has Fields), maps Map (Elem from a scalar value
//     type), structs Object with their own Fields, pointers their target,
//     interfaces Any.
//   - doc: the `doc:"..."` tag (or a WithDoc option), required on every key.
//   - default: the field's value in v, except for a required key, a nil
//     slice, map or pointer, an Object, or a `default:"-"` tag (no default);
//     `default:"TEXT"` sets it instead, parsed as `--set` parses (Field.ParseValue).
//     Elements of a list of structs take their members' values in the zero
//     element, so give those members `default` tags or `default:"-"`.
//   - `required:"true"`: the key must be given.
//   - `min:"X"` and `max:"X"`: numeric bounds (of each element of a list).
//   - `enum:"a|b|c"`: the allowed strings (of each element of a list or map).
//   - `pattern:"RE"`: a regular expression each string must match.
//
// Options set what a tag cannot hold (an enum kept in a Go variable).
// Derive reports a missing doc, a bad tag or an unsupported type as an error
// naming the Go field; cross-field rules stay in the config's Validate.
func Derive(v any, opts ...Option) (Schema, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv = reflect.Zero(rv.Type().Elem())
			continue
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return Schema{}, fmt.Errorf("derive schema: %T is not a struct", v)
	}
	fields, err := structFields(rv, rv.Type().Name())
	if err != nil {
		return Schema{}, err
	}
	s := Schema{Fields: fields}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return Schema{}, fmt.Errorf("derive schema of %s: %w", rv.Type(), err)
		}
	}
	if key := undocumented("", s.Fields); key != "" {
		return Schema{}, fmt.Errorf("derive schema of %s: key %q has no doc (a doc tag or WithDoc)", rv.Type(), key)
	}
	return s, nil
}

// MustDerive is Derive for package-level schemas of built-in configs, whose
// tags are fixed at compile time and checked by their tests: it panics on
// an error, which is a programming error, never bad input.
func MustDerive(v any, opts ...Option) Schema {
	s, err := Derive(v, opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// undocumented returns the dotted path of the first key without a doc.
func undocumented(prefix string, fields []Field) string {
	for _, f := range fields {
		if f.Doc == "" {
			return prefix + f.Name
		}
		if k := undocumented(prefix+f.Name+".", f.Fields); k != "" {
			return k
		}
	}
	return ""
}

// maxDepth bounds the nesting of sections, so that a recursive config type
// is an error rather than endless recursion.
const maxDepth = 16

// configField is a struct field that is part of a config: the field, its
// key (its json name, empty for an embedded struct whose fields are
// promoted) and its value.
type configField struct {
	sf   reflect.StructField
	name string
	fv   reflect.Value
}

// configFields yields the fields of the struct value rv that are part of
// its config, in declaration order: unexported fields other than embedded
// ones, and fields tagged schema:"-" or json:"-" (yaml:"-"), are not.
func configFields(rv reflect.Value) iter.Seq[configField] {
	return func(yield func(configField) bool) {
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			if (!sf.IsExported() && !sf.Anonymous) || sf.Tag.Get("schema") == "-" {
				continue
			}
			name, _, _ := strings.Cut(keyTag(sf), ",")
			if name == "-" {
				continue
			}
			if !yield(configField{sf, name, rv.Field(i)}) {
				return
			}
		}
	}
}

// keyTag is the tag naming a field's key: its json tag (a plugin config,
// which crosses the wire as JSON), or, without one, its yaml tag (a config
// read only from YAML, such as the recipe).
func keyTag(sf reflect.StructField) string {
	if t, ok := sf.Tag.Lookup("json"); ok {
		return t
	}
	return sf.Tag.Get("yaml")
}

func structFields(rv reflect.Value, where string) ([]Field, error) {
	if strings.Count(where, ".") > maxDepth {
		return nil, fmt.Errorf("derive schema: %s nests more than %d sections (a recursive type?)", where, maxDepth)
	}
	var out []Field
	for c := range configFields(rv) {
		sf, name, fv := c.sf, c.name, c.fv
		if sf.Anonymous && name == "" {
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv = reflect.Zero(fv.Type().Elem())
					break
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				sub, err := structFields(fv, where+"."+sf.Name)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("derive schema: field %s.%s has no json name", where, sf.Name)
		}
		f, err := field(sf, fv, name, where+"."+sf.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func field(sf reflect.StructField, fv reflect.Value, name, where string) (Field, error) {
	f := Field{Name: name, Doc: sf.Tag.Get("doc"), Pattern: sf.Tag.Get("pattern")}
	bad := func(tag string, err error) (Field, error) {
		return Field{}, fmt.Errorf("derive schema: field %s tag %s: %w", where, tag, err)
	}
	if r := sf.Tag.Get("required"); r != "" {
		b, err := strconv.ParseBool(r)
		if err != nil {
			return bad("required", err)
		}
		f.Required = b
	}
	for tag, dst := range map[string]**float64{"min": &f.Min, "max": &f.Max} {
		if t, ok := sf.Tag.Lookup(tag); ok {
			x, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return bad(tag, err)
			}
			*dst = &x
		}
	}
	if e, ok := sf.Tag.Lookup("enum"); ok {
		f.Enum = strings.Split(e, "|")
	}
	t := sf.Type
	isNil := false
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if fv.IsNil() {
			isNil = true
			fv = reflect.Zero(t)
		} else {
			fv = fv.Elem()
		}
	}
	typ, err := typeFor(t)
	if err != nil {
		return bad("type", err)
	}
	f.Type = typ
	switch typ {
	case List:
		et := t.Elem()
		for et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if f.Elem, err = typeFor(et); err != nil {
			return bad("type", err)
		}
		if f.Elem == Object {
			if f.Fields, err = structFields(reflect.Zero(et), where+"[]"); err != nil {
				return Field{}, err
			}
		}
		isNil = isNil || (t.Kind() == reflect.Slice && fv.IsNil())
	case Map:
		if t.Key().Kind() != reflect.String {
			return bad("type", fmt.Errorf("map key %s is not a string", t.Key()))
		}
		if et, err := typeFor(t.Elem()); err == nil && et != Object && et != List && et != Map {
			f.Elem = et
		}
		isNil = isNil || fv.IsNil()
	case Object:
		if f.Fields, err = structFields(fv, where); err != nil {
			return Field{}, err
		}
		return f, nil
	case Any:
		isNil = isNil || fv.IsNil()
	}
	d, hasDefault := sf.Tag.Lookup("default")
	switch {
	case f.Required || d == "-":
	case hasDefault:
		v, err := f.ParseValue(d)
		if err != nil {
			return bad("default", err)
		}
		f.Default = v
	case !isNil:
		f.Default = value(fv)
	}
	return f, nil
}

// typeFor is the schema type of a Go type.
func typeFor(t reflect.Type) (Type, error) {
	switch t.Kind() {
	case reflect.String:
		return String, nil
	case reflect.Bool:
		return Bool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int, nil
	case reflect.Float32, reflect.Float64:
		return Float, nil
	case reflect.Slice, reflect.Array:
		return List, nil
	case reflect.Map:
		return Map, nil
	case reflect.Struct:
		return Object, nil
	case reflect.Interface:
		return Any, nil
	case reflect.Pointer:
		return typeFor(t.Elem())
	}
	return "", fmt.Errorf("unsupported Go type %s", t)
}
