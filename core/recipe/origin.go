package recipe

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"gopkg.in/yaml.v3"
)

// OriginKind says what set a resolved value.
type OriginKind string

// Origin kinds.
const (
	FromFile    OriginKind = "file"    // a recipe file or one of its bases
	FromSet     OriginKind = "set"     // a --set override
	FromDefault OriginKind = "default" // the schema default
	FromSweep   OriginKind = "sweep"   // a sweep alternative of a child run
)

// Origin is where one resolved value came from.
type Origin struct {
	Kind OriginKind
	File string // FromFile: the file
	Line int    // FromFile: the line of the key (0 when unknown)
	Text string // FromSet: the raw override; FromSweep: the child's label
}

// String renders the origin as "FILE:LINE", "--set k=v", "default" or
// "sweep LABEL".
func (o Origin) String() string {
	switch o.Kind {
	case FromFile:
		if o.Line > 0 {
			return fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		return o.File
	case FromSet:
		return "--set " + o.Text
	case FromSweep:
		return "sweep " + o.Text
	}
	return string(o.Kind)
}

// lineIndex maps each dotted key path of a YAML document (list elements by
// index) to the line of its key. Invalid YAML yields an empty index.
func lineIndex(data []byte) map[string]int {
	idx := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return idx
	}
	var walk func(prefix string, n *yaml.Node, depth int)
	walk = func(prefix string, n *yaml.Node, depth int) {
		if depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := schema.JoinPath(prefix, n.Content[i].Value)
				idx[p] = n.Content[i].Line
				walk(p, n.Content[i+1], depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := schema.JoinPath(prefix, strconv.Itoa(i))
				idx[p] = c.Line
				walk(p, c, depth+1)
			}
		}
	}
	walk("", doc.Content[0], 0)
	return idx
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// errorLine extracts the line number from a YAML parser error (0 if none).
func errorLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// dropOrigins forgets the origins of path and everything below it.
func dropOrigins(origins map[string]Origin, path string) {
	for k := range origins {
		if k == path || strings.HasPrefix(k, path+".") {
			delete(origins, k)
		}
	}
}

// markOrigins records o for path and every key path inside v.
func markOrigins(origins map[string]Origin, path string, v any, o Origin, lines map[string]int) {
	if lines != nil {
		o.Line = lines[path]
	}
	origins[path] = o
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			markOrigins(origins, schema.JoinPath(path, k), e, o, lines)
		}
	case []any:
		for i, e := range x {
			markOrigins(origins, schema.JoinPath(path, strconv.Itoa(i)), e, o, lines)
		}
	}
}

// originOf returns the origin of path or of its closest ancestor that has one.
func originOf(origins map[string]Origin, path string) (Origin, bool) {
	for p := path; p != ""; {
		if o, ok := origins[p]; ok {
			return o, true
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Origin{}, false
}
