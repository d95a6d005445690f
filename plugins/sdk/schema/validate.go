package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Validate checks a config struct's values against the schema derived from
// its type (ranges, enums, patterns, finite numbers), so that a config built
// in Go, not read from a recipe, meets the same rules the recipe checker
// applies. It returns nil or an error listing every problem by key. A
// config's own Validate calls it and adds the rules between fields. Only
// the tags count: what Options add (WithEnum) is checked where the schema
// itself checks a config.
func Validate(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	s, err := Derive(reflect.Zero(rv.Type()).Interface())
	if err != nil {
		return err
	}
	var msgs []string
	for _, is := range s.Check("", structValues(rv)) {
		if is.Message == "is required but missing" {
			continue // a Go config has every key; an empty one is the zero value
		}
		msgs = append(msgs, is.Path+": "+is.Message)
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// ValidateAs is Validate with its error naming the config's owner (the
// plugin, "convirt: lambda: ..."), as a plugin reports it; nil stays nil.
func ValidateAs(owner string, v any) error {
	if err := Validate(v); err != nil {
		return fmt.Errorf("%s: %w", owner, err)
	}
	return nil
}

// structValues is the config map a struct stands for: its keys as Derive
// names them, nil pointers left out.
func structValues(rv reflect.Value) map[string]any {
	out := map[string]any{}
	for c := range configFields(rv) {
		sf, name, fv := c.sf, c.name, c.fv
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		if fv.Kind() == reflect.Pointer {
			continue
		}
		if sf.Anonymous && name == "" && fv.Kind() == reflect.Struct {
			for k, v := range structValues(fv) {
				out[k] = v
			}
			continue
		}
		if !sf.IsExported() || name == "" {
			continue
		}
		if fv.Kind() == reflect.Struct {
			out[name] = structValues(fv)
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			l := make([]any, fv.Len())
			for j := range l {
				l[j] = structValues(fv.Index(j))
			}
			out[name] = l
			continue
		}
		out[name] = value(fv)
	}
	return out
}

// value converts a default to the shapes YAML decoding produces (string,
// int, float64, bool, []any, map[string]any), whatever the Go type's name,
// so that defaults applied to a recipe check like written values.
func value(v reflect.Value) any {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = value(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[it.Key().String()] = value(it.Value())
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return value(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		rt := v.Type()
		for i := 0; i < rt.NumField(); i++ {
			if name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); name != "" && name != "-" && rt.Field(i).IsExported() {
				out[name] = value(v.Field(i))
			}
		}
		return out
	}
	return v.Interface()
}
