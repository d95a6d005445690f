package recipe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/core/schema"
	"github.com/knadh/koanf/maps"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
)

// DeleteMarker, given as the value of a key in a recipe or a --set, removes
// the key (and everything below it) inherited from the bases.
const DeleteMarker = "~delete"

// maxBaseDepth bounds base chains, which also stops cycles early.
const maxBaseDepth = 16

// PluginLookup returns the config schema of the named plugin, and false when
// no plugin of that name is known.
type PluginLookup func(name string) (schema.Schema, bool)

// Options controls Load.
type Options struct {
	// Sets are `key.path=value` overrides applied after the files, in order.
	Sets []string
	// Plugins, when non-nil, checks plugin names and their configs and types
	// --set values inside plugin configs. When nil only the recipe's own
	// schema is checked and plugin configs only for being mappings.
	Plugins PluginLookup
	// Getenv expands ${VAR}; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Load reads the recipe file at path with its bases, applies the overrides
// and defaults, and validates the result. On any problem it returns the
// (partially) resolved recipe, useful for `recipe show`, and a Diagnostics
// error listing every problem found.
func Load(path string, opt Options) (*Recipe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return Parse(path, data, opt)
}

// Parse is Load on the content of a file named name; bases are resolved
// relative to name's directory.
func Parse(name string, data []byte, opt Options) (*Recipe, error) {
	l := &loader{origins: map[string]Origin{}, getenv: opt.Getenv, k: koanf.New(".")}
	if l.getenv == nil {
		l.getenv = os.LookupEnv
	}
	l.file(name, data, nil)
	r := &Recipe{Source: name, Overrides: append([]string(nil), opt.Sets...), tree: l.k.Raw(), origins: l.origins}
	l.applySets(r, opt.Sets, opt.Plugins)
	for _, p := range Schema.ApplyDefaults("", r.tree) {
		r.origins[p] = Origin{Kind: FromDefault}
	}
	diags := l.diags
	if !l.unparsed {
		diags = append(diags, Validate(r, opt.Plugins)...)
	}
	if len(diags) > 0 {
		return r, Diagnostics(sortDiagnostics(diags))
	}
	if err := r.decode(); err != nil {
		return r, err
	}
	return r, nil
}

// loader merges recipe files into one koanf instance, recording origins.
type loader struct {
	k       *koanf.Koanf
	origins map[string]Origin
	diags   []Diagnostic
	getenv  func(string) (string, bool)

	unparsed bool // a file could not be parsed: schema checks would only add noise

	cur   Origin         // origin of the file being merged
	lines map[string]int // its key lines
}

func (l *loader) errorf(file string, line int, path, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{File: file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// file loads one recipe file: its bases first, then its own keys.
func (l *loader) file(path string, data []byte, chain []string) {
	m, err := kyaml.Parser().Unmarshal(data)
	if err != nil {
		l.errorf(path, errorLine(err), "", "invalid YAML: %v", err)
		l.unparsed = true
		return
	}
	if m == nil {
		m = map[string]any{}
	}
	maps.IntfaceKeysToStrings(m)
	lines := lineIndex(data)
	if b, ok := m["base"]; ok {
		delete(m, "base")
		bases, ok := baseList(b)
		if !ok {
			l.errorf(path, lines["base"], "base", "expected a path or a list of paths, got %s", schema.TypeOf(b))
		}
		for _, rel := range bases {
			bp := rel
			if !filepath.IsAbs(bp) {
				bp = filepath.Join(filepath.Dir(path), rel)
			}
			chain := append(append([]string(nil), chain...), path)
			if cycle := slicesIndex(chain, bp); cycle >= 0 || len(chain) > maxBaseDepth {
				l.errorf(path, lines["base"], "base", "base chain loops or is too deep: %s -> %s", strings.Join(chain, " -> "), bp)
				continue
			}
			bdata, err := os.ReadFile(bp)
			if err != nil {
				l.errorf(path, lines["base"], "base", "cannot read base recipe: %v", err)
				l.unparsed = true
				continue
			}
			l.file(bp, bdata, chain)
		}
	}
	l.expandAll(m, "", path, lines)
	l.cur, l.lines = Origin{Kind: FromFile, File: path}, lines
	if err := l.k.Load(confmap.Provider(m, ""), nil, koanf.WithMergeFunc(l.merge)); err != nil {
		l.errorf(path, 0, "", "merge: %v", err)
	}
}

func baseList(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return out, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func slicesIndex(list []string, s string) int {
	for i, x := range list {
		if filepath.Clean(x) == filepath.Clean(s) {
			return i
		}
	}
	return -1
}

// merge is the koanf merge function: src (the file being loaded) onto dest
// (everything loaded before). Maps merge recursively, every other value
// (lists included) replaces, DeleteMarker deletes.
func (l *loader) merge(src, dest map[string]any) error {
	l.mergeInto(src, dest, "")
	return nil
}

func (l *loader) mergeInto(src, dest map[string]any, prefix string) {
	for k, v := range src {
		p := join(prefix, k)
		if isDelete(v) {
			delete(dest, k)
			dropOrigins(l.origins, p)
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
		dest[k] = v
		dropOrigins(l.origins, p)
		markOrigins(l.origins, p, v, l.cur, l.lines)
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
