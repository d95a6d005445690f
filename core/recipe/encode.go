package recipe

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"gopkg.in/yaml.v3"
)

// Files a saved recipe consists of in a run directory.
const (
	ResolvedFile  = "resolved.yaml"
	OverridesFile = "overrides.txt"
)

// YAML renders the resolved recipe with keys in schema order. With origins,
// each value carries a comment saying where it came from. Loading the output
// gives back the same resolved recipe.
func (r *Recipe) YAML(origins bool) ([]byte, error) {
	var om map[string]Origin
	if origins {
		om = r.origins
	}
	n := toNode("", r.tree, Schema.Fields, om)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("recipe %s: encode: %w", r.Source, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("recipe %s: encode: %w", r.Source, err)
	}
	return b.Bytes(), nil
}

// toNode builds the YAML node of v; fields (possibly nil) orders map keys,
// schema fields first, then any others sorted.
func toNode(path string, v any, fields []schema.Field, origins map[string]Origin) *yaml.Node {
	var n *yaml.Node
	switch x := v.(type) {
	case map[string]any:
		n = &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range orderedKeys(x, fields) {
			var sub []schema.Field
			for _, f := range fields {
				if f.Name == k {
					sub = f.Fields
				}
			}
			p := schema.JoinPath(path, k)
			key := &yaml.Node{Kind: yaml.ScalarNode, Value: k, Tag: "!!str"}
			val := toNode(p, x[k], sub, origins)
			if origins != nil && val.Kind != yaml.ScalarNode && val.Style != yaml.FlowStyle {
				if o, ok := origins[p]; ok {
					key.LineComment = o.String()
				}
			}
			n.Content = append(n.Content, key, val)
		}
		if len(x) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n
	case []any:
		n = &yaml.Node{Kind: yaml.SequenceNode}
		flow := true
		for i, e := range x {
			c := toNode(schema.JoinPath(path, strconv.Itoa(i)), e, fields, origins)
			if c.Kind != yaml.ScalarNode {
				flow = false
			}
			n.Content = append(n.Content, c)
		}
		if flow {
			n.Style = yaml.FlowStyle
			for _, c := range n.Content {
				c.LineComment = ""
			}
			if o, ok := origins[path]; ok && origins != nil {
				n.LineComment = o.String()
			}
		}
		return n
	case string:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: escapeEnv(x)}
	case bool:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case float64:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(x)}
	case nil:
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	default:
		if num, ok := schema.Number(x); ok && num == math.Trunc(num) {
			n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x)}
		} else {
			n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(x)}
		}
	}
	if origins != nil {
		if o, ok := origins[path]; ok {
			n.LineComment = o.String()
		}
	}
	return n
}

// formatFloat writes a float so that it reads back as a float.
func formatFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return ".nan"
	case math.IsInf(x, 1):
		return ".inf"
	case math.IsInf(x, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func orderedKeys(m map[string]any, fields []schema.Field) []string {
	out := make([]string, 0, len(m))
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
		if _, ok := m[f.Name]; ok {
			out = append(out, f.Name)
		}
	}
	var rest []string
	for k := range m {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Save writes the resolved recipe (ResolvedFile) and the raw overrides, one
// per line (OverridesFile), into dir, which must exist.
func (r *Recipe) Save(dir string) error {
	y, err := r.YAML(false)
	if err != nil {
		return err
	}
	head := fmt.Sprintf("# Resolved from %s, with the overrides in %s.\n", r.Source, OverridesFile)
	if err := atomicfile.Write(filepath.Join(dir, ResolvedFile), append([]byte(head), y...), 0o644); err != nil {
		return fmt.Errorf("recipe: save: %w", err)
	}
	var b strings.Builder
	for _, s := range r.Overrides {
		if strings.ContainsAny(s, "\n\r") {
			s = strconv.Quote(s)
		}
		b.WriteString(s + "\n")
	}
	if err := atomicfile.Write(filepath.Join(dir, OverridesFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("recipe: save: %w", err)
	}
	return nil
}

// LoadRun is LoadRunContext without cancellation or a raised size limit.
func LoadRun(dir string, plugins PluginLookup) (*Recipe, error) {
	return LoadRunContext(context.Background(), dir, Options{Plugins: plugins})
}

// LoadRunContext reads back the recipe Save wrote into a run directory: the
// same resolved recipe, with Overrides restored from OverridesFile. Of opt,
// Plugins, Getenv and MaxBytes apply (the size limit to each of the two
// files); the overrides are those saved, not opt.Sets.
func LoadRunContext(ctx context.Context, dir string, opt Options) (*Recipe, error) {
	opt.Sets = nil
	r, err := LoadContext(ctx, filepath.Join(dir, ResolvedFile), opt)
	if err != nil {
		return r, err
	}
	// A loader of its own: the overrides get the whole size limit.
	l, err := newLoader(ctx, opt)
	if err != nil {
		return r, fmt.Errorf("recipe: %w", err)
	}
	data, err := l.read(filepath.Join(dir, OverridesFile))
	if err != nil {
		return r, fmt.Errorf("recipe: %w", err)
	}
	r.Overrides = nil
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, `"`) {
			if u, err := strconv.Unquote(line); err == nil {
				line = u
			}
		}
		r.Overrides = append(r.Overrides, line)
	}
	return r, nil
}
