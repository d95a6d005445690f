package recipe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// applySets applies `key.path=value` overrides to the tree, each value typed
// by the schema of the field at its path.
func (l *loader) applySets(r *Recipe, sets []string, plugins PluginLookup) {
	for _, s := range sets {
		key, text, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			l.errorf("--set "+s, 0, "", "expected key.path=value")
			continue
		}
		segs := strings.Split(key, ".")
		if text == DeleteMarker {
			if err := deletePath(r.tree, segs); err != nil {
				l.errorf("--set "+s, 0, key, "%v", err)
			}
			dropOrigins(r.origins, key)
			continue
		}
		var v any
		var err error
		if segs[0] == "sweep" && len(segs) > 1 {
			v, err = parseSweep(r.tree, segs[1:], text, plugins)
			segs = []string{"sweep", strings.Join(segs[1:], ".")}
		} else {
			var f schema.Field
			if f, err = fieldFor(r.tree, segs, plugins); err == nil {
				v, err = f.ParseValue(text)
			}
		}
		if err == nil {
			v = l.expandValue(v, key, "--set "+s, nil)
			err = setPath(r.tree, segs, v)
		}
		if err != nil {
			d := Diagnostic{File: "--set " + s, Path: key, Message: err.Error()}
			if is, ok := err.(*issueError); ok {
				d.Path, d.Message, d.Suggestion = is.Path, is.Message, is.Suggestion
			}
			l.diags = append(l.diags, d)
			continue
		}
		dropOrigins(r.origins, key)
		markOrigins(r.origins, key, v, Origin{Kind: FromSet, Text: s}, nil)
	}
}

// issueError carries a schema issue as an error.
type issueError struct{ schema.Issue }

func (e *issueError) Error() string { return e.Message }

// fieldFor returns the schema field at a key path, descending into a plugin's
// own schema below a `config` key when plugins knows the plugin the tree
// names; elsewhere below a mapping the field is of type Any.
func fieldFor(tree map[string]any, segs []string, plugins PluginLookup) (schema.Field, error) {
	f, rest, is := Schema.Lookup(segs)
	if is != nil {
		return schema.Field{}, &issueError{*is}
	}
	if len(rest) == 0 {
		return f, nil
	}
	if f.Name == "config" && plugins != nil {
		parent := segs[:len(segs)-len(rest)-1]
		name, _ := getPath(tree, append(append([]string(nil), parent...), "plugin")).(string)
		if ps, ok := plugins(name); ok {
			pf, prest, is := ps.Lookup(rest)
			if is != nil {
				is.Path = strings.Join(append(append([]string(nil), segs[:len(segs)-len(rest)]...), is.Path), ".")
				return schema.Field{}, &issueError{*is}
			}
			if len(prest) == 0 {
				return pf, nil
			}
		}
	}
	return schema.Field{Type: schema.Any}, nil
}

// parseSweep parses the alternatives of `--set sweep.KEY=...`: a list of
// values typed like the field at KEY.
func parseSweep(tree map[string]any, target []string, text string, plugins PluginLookup) (any, error) {
	f, err := fieldFor(tree, target, plugins)
	if err != nil {
		return nil, err
	}
	if f.Type == schema.List || f.Type == schema.Object || f.Type == schema.Map || f.Type == schema.Any {
		return schema.Field{Type: schema.Any}.ParseValue(text)
	}
	return schema.Field{Type: schema.List, Elem: f.Type}.ParseValue(text)
}

// getPath returns the value at segs, or nil.
func getPath(tree map[string]any, segs []string) any {
	var cur any = tree
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// setPath sets the value at segs, creating missing sections.
func setPath(tree map[string]any, segs []string, v any) error {
	parent, err := walkTo(tree, segs, true)
	if err != nil {
		return err
	}
	last := segs[len(segs)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
	case []any:
		i, err := listIndex(c, last, segs)
		if err != nil {
			return err
		}
		c[i] = v
	}
	return nil
}

// deletePath removes the value at segs; a missing key is not an error.
func deletePath(tree map[string]any, segs []string) error {
	parent, err := walkTo(tree, segs, false)
	if err != nil || parent == nil {
		return err
	}
	if m, ok := parent.(map[string]any); ok {
		delete(m, segs[len(segs)-1])
		return nil
	}
	return fmt.Errorf("cannot delete a list element; set the whole list instead")
}

// walkTo returns the container (map or list) holding the last segment.
func walkTo(tree map[string]any, segs []string, create bool) (any, error) {
	var cur any = tree
	for n, s := range segs[:len(segs)-1] {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[s]
			if !ok || next == nil {
				if !create {
					return nil, nil
				}
				next = map[string]any{}
				c[s] = next
			}
			cur = next
		case []any:
			i, err := listIndex(c, s, segs[:n+1])
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%s is a %s, not a section", strings.Join(segs[:n], "."), schema.TypeOf(cur))
		}
	}
	switch cur.(type) {
	case map[string]any, []any:
		return cur, nil
	}
	return nil, fmt.Errorf("%s is a %s, not a section", strings.Join(segs[:len(segs)-1], "."), schema.TypeOf(cur))
}

func listIndex(l []any, s string, segs []string) (int, error) {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(l) {
		return 0, fmt.Errorf("%s: no list element %q (the list has %d)", strings.Join(segs, "."), s, len(l))
	}
	return i, nil
}
