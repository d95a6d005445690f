package recipe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
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
	// PluginNames, when non-nil, lists the known plugins of a kind: an
	// unknown plugin name is answered with them and the nearest one.
	PluginNames PluginNames
	// Getenv reads environment variables: those ${VAR} names, and
	// MaxBytesEnv. Nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// MaxBytes is how many bytes the recipe file and its bases may hold
	// together; 0 means MaxBytesEnv when set, else DefaultMaxBytes.
	MaxBytes int64
}

// Load is LoadContext without cancellation.
func Load(path string, opt Options) (*Recipe, error) {
	return LoadContext(context.Background(), path, opt)
}

// LoadContext reads the recipe file at path with its bases, applies the
// overrides and defaults, and validates the result. On any problem it
// returns the (partially) resolved recipe, useful for `recipe show`, and a
// Diagnostics error listing every problem found.
//
// Every file must be a regular file, and together they may hold at most
// the size limit (Options.MaxBytes). Loading stops, returning ctx's error,
// soon after ctx is cancelled.
func LoadContext(ctx context.Context, path string, opt Options) (*Recipe, error) {
	l, err := newLoader(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	data, err := l.read(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return l.load(path, data, opt)
}

// Parse is ParseContext without cancellation.
func Parse(name string, data []byte, opt Options) (*Recipe, error) {
	return ParseContext(context.Background(), name, data, opt)
}

// ParseContext is LoadContext on the content of a file named name; bases
// are resolved relative to name's directory.
func ParseContext(ctx context.Context, name string, data []byte, opt Options) (*Recipe, error) {
	l, err := newLoader(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	if err := l.charge(name, data); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return l.load(name, data, opt)
}

func newLoader(ctx context.Context, opt Options) (*loader, error) {
	l := &loader{ctx: ctx, origins: map[string]Origin{}, getenv: opt.Getenv, k: koanf.New(".")}
	if l.getenv == nil {
		l.getenv = os.LookupEnv
	}
	var err error
	if l.limit, err = maxBytes(opt, l.getenv); err != nil {
		return nil, err
	}
	l.budget = l.limit
	return l, nil
}

// read reads one recipe file against what is left of the size limit.
func (l *loader) read(path string) ([]byte, error) {
	if l.files >= maxFiles {
		return nil, fmt.Errorf("%s: more than %d recipe files in one load (does a base list fan out at every level?)", path, maxFiles)
	}
	data, err := readRecipe(l.ctx, path, l.budget, l.limit)
	if err != nil {
		return nil, err
	}
	if err := l.charge(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

// charge counts data, the content of the file name, as one file read
// against what is left of the size limit.
func (l *loader) charge(name string, data []byte) error {
	if int64(len(data)) > l.budget {
		return tooLarge(name, int64(len(data)), l.limit)
	}
	l.budget -= int64(len(data))
	l.files++
	return nil
}

func (l *loader) load(name string, data []byte, opt Options) (*Recipe, error) {
	l.file(name, data, nil)
	if l.err != nil {
		return nil, fmt.Errorf("recipe %s: loading stopped: %w", name, l.err)
	}
	r := &Recipe{Source: name, Overrides: append([]string(nil), opt.Sets...), tree: l.k.Raw(), origins: l.origins}
	l.applySets(r, opt.Sets, opt.Plugins)
	for _, p := range Schema.ApplyDefaults("", r.tree) {
		r.origins[p] = Origin{Kind: FromDefault}
	}
	diags := l.diags
	if !l.unparsed {
		diags = append(diags, withKnownPlugins(r, Validate(r, opt.Plugins), opt.PluginNames)...)
	}
	if len(diags) > 0 {
		return r, Diagnostics(sortDiagnostics(diags))
	}
	if err := r.decodeTyped(); err != nil {
		return r, err
	}
	return r, nil
}

// loader merges recipe files into one koanf instance, recording origins.
type loader struct {
	ctx     context.Context
	k       *koanf.Koanf
	origins map[string]Origin
	diags   []Diagnostic
	getenv  func(string) (string, bool)
	err     error // ctx's, once cancelled: stop

	limit, budget int64 // the size limit, and what is left of it
	files         int   // files read
	steps         int   // work done, for stopped

	unparsed bool // a file could not be parsed: schema checks would only add noise

	cur   Origin         // origin of the file being merged
	lines map[string]int // its key lines
}

// stopped counts a step of work and reports whether loading must stop:
// every checkEvery steps it looks at ctx.
func (l *loader) stopped() bool {
	l.steps++
	if l.err == nil && l.steps%checkEvery == 0 {
		l.err = l.ctx.Err()
	}
	return l.err != nil
}

func (l *loader) errorf(file string, line int, path, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{File: file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// file loads one recipe file: its bases first, then its own keys.
func (l *loader) file(path string, data []byte, chain []string) {
	if l.err != nil {
		return
	}
	doc, diags, err := parseRecipe(l.ctx, path, data)
	if err != nil {
		l.err = err
		return
	}
	if len(diags) > 0 {
		l.diags = append(l.diags, diags...)
		l.unparsed = true
		return
	}
	m, lines := doc.tree, doc.lines
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
			bdata, err := l.read(bp)
			if l.ctx.Err() != nil {
				l.err = l.ctx.Err()
				return
			}
			if err != nil {
				l.errorf(path, lines["base"], "base", "cannot read base recipe: %v", err)
				l.unparsed = true
				continue
			}
			l.file(bp, bdata, chain)
			if l.err != nil {
				return
			}
		}
	}
	if l.err = l.ctx.Err(); l.err != nil {
		return
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
