// Package schema describes the configuration a plugin or a recipe section
// accepts: typed fields with defaults, ranges and documentation. Plugins send
// their schema in their Info; the recipe loader checks every config against
// it before any process trains, and docs/recipes.md is generated from it.
//
// A plugin writes its config once, as a tagged struct: Derive turns it into
// the schema (keys, types, docs, defaults, bounds, enums) and Validate checks
// a struct's values against the same tags (docs/plugins.md lists them).
package schema

// Type is the type of a field's value.
type Type string

// Field types. List and Map values hold elements of Elem (for List) or any
// value (for Map); Object fields have nested Fields.
const (
	String Type = "string"
	Int    Type = "int"
	Float  Type = "float"
	Bool   Type = "bool"
	List   Type = "list"
	Map    Type = "map"
	Object Type = "object"
	Any    Type = "any"
)

// Field is one configuration key.
type Field struct {
	Name     string   `json:"name"`
	Type     Type     `json:"type"`
	Doc      string   `json:"doc"`
	Default  any      `json:"default,omitempty"`
	Required bool     `json:"required,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Elem     Type     `json:"elem,omitempty"`   // element type of a List
	Fields   []Field  `json:"fields,omitempty"` // members of an Object, or of each element of a List of Object
	// Pattern, when set, is a regular expression (RE2, anchored by the
	// checker) that a String value, or each string of a List, must match.
	Pattern string `json:"pattern,omitempty"`
}

// Schema is the set of fields a config accepts; keys not in it are errors.
type Schema struct {
	Fields []Field `json:"fields"`
}

// Ptr returns a pointer to v, for Field.Min and Field.Max literals.
func Ptr(v float64) *float64 { return &v }
