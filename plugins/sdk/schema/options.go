package schema

import (
	"fmt"
	"strings"
)

// Option adjusts a derived schema with what struct tags cannot hold.
type Option func(*Schema) error

// WithDoc sets the documentation of the key at the dotted path, for a doc
// that several configs share (kept in one Go constant) instead of a tag.
func WithDoc(path, doc string) Option {
	return Modify(path, func(f *Field) { f.Doc = doc })
}

// WithEnum sets the allowed values of the key at the dotted path (for a
// list of strings, those of each element), for enums kept in a Go variable.
func WithEnum(path string, values ...string) Option {
	return Modify(path, func(f *Field) { f.Enum = append([]string(nil), values...) })
}

// Modify applies fn to the key at the dotted path (Object members by name),
// for schemas that vary with the plugin instance (one struct serving two
// plugin names with different allowed values). Modify of a key the struct
// lacks is an error.
func Modify(path string, fn func(*Field)) Option {
	return func(s *Schema) error {
		fields := s.Fields
		parts := strings.Split(path, ".")
		for i, p := range parts {
			j := -1
			for k := range fields {
				if fields[k].Name == p {
					j = k
				}
			}
			if j < 0 {
				return fmt.Errorf("no key %q", strings.Join(parts[:i+1], "."))
			}
			if i == len(parts)-1 {
				fn(&fields[j])
				return nil
			}
			fields = fields[j].Fields
		}
		return nil
	}
}
