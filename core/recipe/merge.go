package recipe

import (
	"strconv"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// merge is the koanf merge function: src (the file being loaded) onto dest
// (everything loaded before). Maps merge recursively, every other value
// (lists included) replaces, DeleteMarker deletes.
func (l *loader) merge(src, dest map[string]any) error {
	l.mergeInto(src, dest, "")
	return nil
}

func (l *loader) mergeInto(src, dest map[string]any, prefix string) {
	for k, v := range src {
		p := schema.JoinPath(prefix, k)
		if isDelete(v) {
			if old, ok := dest[k]; ok {
				dropTree(l.origins, p, old)
			}
			delete(dest, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dest[k].(map[string]any); ok {
				o := l.cur
				o.Line = l.lines[p]
				l.origins[p] = o
				l.mergeInto(sm, dm, p)
				continue
			}
		}
		v = stripDeletes(v)
		if old, ok := dest[k]; ok {
			dropTree(l.origins, p, old)
		}
		dest[k] = v
		markOrigins(l.origins, p, v, l.cur, l.lines)
	}
}

// dropTree forgets the origins of path and of every key path inside v, its
// value: while files merge, origins hold exactly the merged tree's paths, so
// this is dropOrigins in time proportional to v rather than to the tree.
func dropTree(origins map[string]Origin, path string, v any) {
	delete(origins, path)
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			dropTree(origins, schema.JoinPath(path, k), e)
		}
	case []any:
		for i, e := range x {
			dropTree(origins, schema.JoinPath(path, strconv.Itoa(i)), e)
		}
	}
}

func isDelete(v any) bool {
	s, ok := v.(string)
	return ok && s == DeleteMarker
}

// stripDeletes removes deleted keys from a map that has nothing to merge into.
func stripDeletes(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, e := range m {
		if isDelete(e) {
			delete(m, k)
		} else {
			m[k] = stripDeletes(e)
		}
	}
	return m
}
