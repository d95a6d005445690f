package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"gopkg.in/yaml.v3"
)

// parsed is one recipe file parsed: its tree, with string keys at every
// level, and the line of each dotted key path (list elements by index).
type parsed struct {
	tree  map[string]any
	lines map[string]int
}

// parseRecipe parses data, the content of file name, which must hold one
// YAML document whose top level is a mapping. Problems with the YAML come
// back as diagnostics naming the file and line; a cancelled ctx comes back
// as its error.
//
// The work is linear in the size of data. yaml.v3 decodes a mapping into Go
// values checking each key against every other one (a 10 MB recipe of
// short keys took minutes), so it only parses here, into nodes, and
// convert builds the values, finding duplicate keys with a map. The parse
// itself runs on its own goroutine so that a cancelled ctx returns at once;
// that goroutine then finishes the (size-limited) parse and exits.
func parseRecipe(ctx context.Context, name string, data []byte) (parsed, []Diagnostic, error) {
	type result struct {
		doc, next       yaml.Node
		err, nextErr    error
		docEOF, nextEOF bool
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		dec := yaml.NewDecoder(bytes.NewReader(data))
		r.err = dec.Decode(&r.doc)
		r.docEOF = errors.Is(r.err, io.EOF)
		if r.err == nil {
			r.nextErr = dec.Decode(&r.next)
			r.nextEOF = errors.Is(r.nextErr, io.EOF)
		}
		ch <- r
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return parsed{}, nil, ctx.Err()
	}
	invalid := func(line int, format string, args ...any) []Diagnostic {
		return []Diagnostic{{File: name, Line: line, Message: "invalid YAML: " + fmt.Sprintf(format, args...)}}
	}
	switch {
	case r.docEOF:
		return parsed{tree: map[string]any{}, lines: map[string]int{}}, nil, nil
	case r.err != nil:
		return parsed{}, invalid(errorLine(r.err), "%v", r.err), nil
	case r.nextErr != nil && !r.nextEOF:
		return parsed{}, invalid(errorLine(r.nextErr), "%v", r.nextErr), nil
	case !r.nextEOF && !emptyDocument(&r.next):
		return parsed{}, []Diagnostic{{File: name, Line: r.next.Line, Message: "a second YAML document starts here (after ---); " +
			"a recipe is one document: put the other in its own file (it may name this one in base:)"}}, nil
	}
	c := &converter{ctx: ctx, file: name, lines: map[string]int{}, expanding: map[*yaml.Node]bool{}}
	var top any
	if len(r.doc.Content) > 0 {
		top = c.value(r.doc.Content[0], "", 0)
	}
	if c.err != nil {
		return parsed{}, nil, c.err
	}
	if len(c.diags) > 0 {
		return parsed{}, c.diags, nil
	}
	switch t := top.(type) {
	case nil:
		return parsed{tree: map[string]any{}, lines: c.lines}, nil, nil
	case map[string]any:
		return parsed{tree: t, lines: c.lines}, nil, nil
	}
	return parsed{}, invalid(r.doc.Content[0].Line, "a recipe is a mapping of keys to values, not a %s", yamlKind(r.doc.Content[0])), nil
}

// emptyDocument reports whether a document holds nothing: a file ending in
// "---" has one.
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null" && c.Value == ""
}

// converter turns yaml.v3 nodes into the values yaml.Unmarshal would give
// (maps with string keys), in time linear in the nodes visited, guarding
// against alias expansion bombs and cycles as yaml.v3 does.
type converter struct {
	ctx   context.Context
	file  string
	lines map[string]int
	diags []Diagnostic
	err   error // ctx's: stop converting

	visits, aliased int                 // nodes converted, those through an alias
	expanding       map[*yaml.Node]bool // aliases being expanded
}

// checkEvery is how many nodes convert visits between looks at ctx.
const checkEvery = 1024

// maxDepth bounds how deep mappings and lists nest. Recipes nest a few
// levels; the merge of thousands of levels takes seconds (koanf copies the
// tree once per level).
const maxDepth = 64

func (c *converter) errorf(n *yaml.Node, path, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{File: c.file, Line: n.Line, Path: path, Message: "invalid YAML: " + fmt.Sprintf(format, args...)})
}

// value converts n, the value at key path path, depth levels down.
func (c *converter) value(n *yaml.Node, path string, depth int) any {
	if c.err != nil || len(c.diags) > 0 {
		return nil
	}
	if depth > maxDepth {
		c.errorf(n, "", "mappings and lists nest deeper than %d levels", maxDepth)
		return nil
	}
	c.visits++
	if len(c.expanding) > 0 {
		c.aliased++
	}
	if c.visits%checkEvery == 0 {
		if c.err = c.ctx.Err(); c.err != nil {
			return nil
		}
	}
	// yaml.v3's rule: past 100 aliased nodes and 1000 in all, aliases may
	// make up at most a share of the nodes that shrinks as documents grow.
	if c.aliased > 100 && c.visits > 1000 && float64(c.aliased)/float64(c.visits) > allowedAliasRatio(c.visits) {
		c.errorf(n, "", "the document expands too many aliases (a YAML bomb?)")
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		if c.expanding[n] {
			c.errorf(n, "", "anchor %q contains itself", n.Value)
			return nil
		}
		c.expanding[n] = true
		v := c.value(n.Alias, path, depth)
		delete(c.expanding, n)
		return v
	case yaml.MappingNode:
		return c.mapping(n, path, depth)
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, e := range n.Content {
			p := schema.JoinPath(path, strconv.Itoa(i))
			c.line(p, e.Line)
			l[i] = c.value(e, p, depth+1)
		}
		return l
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			c.errorf(n, path, "%v", err)
		}
		return v
	}
	c.errorf(n, path, "unexpected YAML node kind %d", n.Kind)
	return nil
}

// line records the line of a key path; the first record stays (explicit
// keys are recorded before what a merge key brings in).
func (c *converter) line(path string, line int) {
	if _, ok := c.lines[path]; !ok {
		c.lines[path] = line
	}
}

// mapping converts a mapping node. Keys are their text as written; a key
// given twice is an error naming both lines. A merge key (<<) brings in the
// keys of a mapping or of a list of mappings that are not already set,
// earlier mappings first, as yaml.v3 does.
func (c *converter) mapping(n *yaml.Node, path string, depth int) any {
	m := make(map[string]any, len(n.Content)/2)
	keyLine := make(map[string]int, len(n.Content)/2)
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			c.errorf(k, path, "a key must be a plain value, not a %s", yamlKind(k))
			return nil
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			if merge != nil {
				c.errorf(k, path, "merge key << given twice in one mapping")
				return nil
			}
			merge = v
			continue
		}
		p := schema.JoinPath(path, k.Value)
		if first, dup := keyLine[k.Value]; dup {
			c.diags = append(c.diags, Diagnostic{File: c.file, Line: n.Content[i].Line, Path: p,
				Message: fmt.Sprintf("is already defined at line %d", first)})
			return nil
		}
		keyLine[k.Value] = n.Content[i].Line
		c.line(p, n.Content[i].Line)
		m[k.Value] = c.value(v, p, depth+1)
	}
	if merge == nil {
		return m
	}
	sources := []*yaml.Node{merge}
	if merge.Kind == yaml.SequenceNode {
		sources = merge.Content
	}
	for _, s := range sources {
		t := s
		if t.Kind == yaml.AliasNode && t.Alias != nil {
			t = t.Alias
		}
		if t.Kind != yaml.MappingNode {
			c.errorf(s, path, "a merge key (<<) takes a mapping or a list of mappings, not a %s", yamlKind(t))
			return nil
		}
		sm, _ := c.value(s, path, depth).(map[string]any)
		for k, v := range sm {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
	}
	return m
}

// yamlKind names a node's kind for messages.
func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "plain value"
}

// allowedAliasRatio is yaml.v3's (decode.go): documents of up to 400,000
// nodes may owe 99% of them to aliases, falling to 10% at 4,000,000.
func allowedAliasRatio(visits int) float64 {
	const low, high = 400000, 4000000
	switch {
	case visits <= low:
		return 0.99
	case visits >= high:
		return 0.10
	}
	return 0.99 - 0.89*(float64(visits-low)/float64(high-low))
}
