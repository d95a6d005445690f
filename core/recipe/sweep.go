package recipe

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// maxChildren bounds the size of a sweep's expansion.
const maxChildren = 1000

// SweepSize returns the number of child runs Expand would return (1 without
// a sweep), saturating above the limit Expand accepts.
func (r *Recipe) SweepSize() int {
	sw, _ := r.tree["sweep"].(map[string]any)
	n := 1
	for _, v := range sw {
		alts, _ := v.([]any)
		n *= max(len(alts), 1)
		if n > maxChildren {
			return maxChildren + 1
		}
	}
	return n
}

// Child is one run of a sweep: its label ("lr=0.001,seed=3"), the value of
// each swept key path, and the resolved, validated child recipe (without the
// sweep section).
type Child struct {
	Label  string
	Values map[string]any
	Recipe *Recipe
}

// Expand returns the child runs of the recipe's sweep: the cartesian product
// of the alternatives, keys in sorted order with the last key varying
// fastest. A recipe without a sweep expands to itself, with an empty label.
// Each child is validated (with plugins when non-nil); any problem in any
// child is returned as Diagnostics.
func (r *Recipe) Expand(plugins PluginLookup) ([]Child, error) {
	sw, _ := r.tree["sweep"].(map[string]any)
	if len(sw) == 0 {
		return []Child{{Recipe: r, Values: map[string]any{}}}, nil
	}
	keys := make([]string, 0, len(sw))
	total := 1
	for k, v := range sw {
		alts, ok := v.([]any)
		if !ok || len(alts) == 0 {
			return nil, fmt.Errorf("recipe %s: sweep.%s: expected a non-empty list of alternatives", r.Source, k)
		}
		keys = append(keys, k)
		total *= len(alts)
		if total > maxChildren {
			return nil, fmt.Errorf("recipe %s: sweep expands to more than %d runs", r.Source, maxChildren)
		}
	}
	sort.Strings(keys)
	names := labelNames(keys)
	var out []Child
	var diags Diagnostics
	idx := make([]int, len(keys))
	for n := 0; n < total; n++ {
		rem := n
		for i := len(keys) - 1; i >= 0; i-- {
			l := len(sw[keys[i]].([]any))
			idx[i] = rem % l
			rem /= l
		}
		c, ds := r.child(keys, names, idx, sw, plugins)
		diags = append(diags, ds...)
		out = append(out, c)
	}
	if len(diags) > 0 {
		return out, Diagnostics(sortDiagnostics(diags))
	}
	return out, nil
}

func (r *Recipe) child(keys, names []string, idx []int, sw map[string]any, plugins PluginLookup) (Child, []Diagnostic) {
	parts := make([]string, len(keys))
	values := make(map[string]any, len(keys))
	for i, k := range keys {
		v := sw[k].([]any)[idx[i]]
		values[k] = schema.Normalize(v)
		parts[i] = names[i] + "=" + formatValue(v)
	}
	label := strings.Join(parts, ",")
	tree := r.Tree()
	delete(tree, "sweep")
	origins := r.Origins()
	dropOrigins(origins, "sweep")
	c := &Recipe{Source: r.Source, Overrides: append([]string(nil), r.Overrides...), tree: tree, origins: origins}
	var diags []Diagnostic
	for _, k := range keys {
		if err := setPath(tree, strings.Split(k, "."), schema.Normalize(values[k])); err != nil {
			diags = append(diags, Diagnostic{File: r.Source, Path: "sweep." + k, Message: fmt.Sprintf("child %s: %v", label, err)})
			continue
		}
		dropOrigins(origins, k)
		markOrigins(origins, k, values[k], Origin{Kind: FromSweep, Text: label}, nil)
	}
	Schema.ApplyDefaults("", tree)
	if len(diags) == 0 {
		diags = Validate(c, plugins)
	}
	if len(diags) == 0 {
		if err := c.decodeTyped(); err != nil {
			var ds Diagnostics
			if errors.As(err, &ds) {
				diags = append(diags, ds...)
			} else {
				diags = append(diags, Diagnostic{File: r.Source, Message: err.Error()})
			}
		}
	}
	return Child{Label: label, Values: values, Recipe: c}, diags
}

// labelNames shortens each key path to its last segment unless two keys
// would then share a name.
func labelNames(keys []string) []string {
	count := map[string]int{}
	short := make([]string, len(keys))
	for i, k := range keys {
		short[i] = k[strings.LastIndex(k, ".")+1:]
		count[short[i]]++
	}
	for i, k := range keys {
		if count[short[i]] > 1 {
			short[i] = k
		}
	}
	return short
}

// formatValue renders a value compactly for labels.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

// Cell is one evaluation setting: a label fraction, an initialisation and a
// seed (which picks the labelled subset and the head's initialisation).
type Cell struct {
	Fraction float64
	Init     string
	Seed     int
}

// Label renders the cell as "fraction=0.01,init=convirt,seed=3".
func (c Cell) Label() string {
	return fmt.Sprintf("fraction=%s,init=%s,seed=%d", formatValue(c.Fraction), c.Init, c.Seed)
}

// Grid expands an evaluation into its cells: fractions x inits x seeds, in
// that nesting order (seeds vary fastest). A protocol without labels
// (retrieval, zeroshot) uses one fraction, 1.0, and one seed, the first.
func (e Eval) Grid() []Cell {
	fractions, seeds := e.Fractions, []int(e.Seeds)
	if e.Protocol == "retrieval" || e.Protocol == "zeroshot" {
		fractions = []float64{1}
		if len(seeds) > 1 {
			seeds = seeds[:1]
		}
	}
	if len(seeds) == 0 {
		seeds = []int{0}
	}
	inits := e.Inits
	if len(inits) == 0 {
		inits = []string{"convirt"}
	}
	out := make([]Cell, 0, len(fractions)*len(inits)*len(seeds))
	for _, f := range fractions {
		for _, in := range inits {
			for _, s := range seeds {
				out = append(out, Cell{Fraction: f, Init: in, Seed: s})
			}
		}
	}
	return out
}
