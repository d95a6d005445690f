package recipe

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"gopkg.in/yaml.v3"
)

// decodeTyped fills the typed fields from the resolved tree, as decode
// does, in time linear in the tree, and with its errors placed.
//
// decode is a yaml.v3 round trip, and yaml.v3 decodes a mapping comparing
// each key with every other one: 60,000 prompt classes took seconds, once
// per sweep child. So the mappings of arbitrary keys (plugin configs,
// prompts, the sweep) are taken out of the tree before decode, and built
// here key by key, each value round-tripped through yaml.v3 alone, which
// gives the same values.
//
// A value the schema let through that does not fit its Go field (an int
// too large for an int64) failed at "line N" of the marshalled resolved
// tree, a text nobody sees. It is reported as Diagnostics at the key path
// on that line, and so at the file and line (or --set, or sweep) the value
// came from.
func (r *Recipe) decodeTyped() error {
	full := r.tree
	narrow, wide := splitWide(full)
	r.tree = narrow
	err := r.decode()
	r.tree = full
	var te *yaml.TypeError
	if err != nil && !errors.As(err, &te) {
		return err
	}
	var diags []Diagnostic
	if te != nil {
		diags = r.placeTypeErrors(narrow, te.Errors)
	}
	for _, w := range wide {
		for _, is := range r.setWide(w.path, w.value) {
			diags = append(diags, r.diagnostic(is))
		}
	}
	if len(diags) > 0 {
		return Diagnostics(sortDiagnostics(diags))
	}
	return nil
}

// wideValue is a mapping of arbitrary keys taken out of the tree.
type wideValue struct {
	path  string
	value map[string]any
}

// splitWide returns a copy of tree (sharing everything but the sections on
// the way) without its plugin configs, prompts and sweep, and those.
func splitWide(tree map[string]any) (map[string]any, []wideValue) {
	var wide []wideValue
	out := shallow(tree)
	take := func(m map[string]any, key, path string) {
		if v, ok := m[key].(map[string]any); ok {
			wide = append(wide, wideValue{path, v})
			delete(m, key)
		}
	}
	section := func(m map[string]any, key string) map[string]any {
		sub, ok := m[key].(map[string]any)
		if !ok {
			return nil
		}
		sub = shallow(sub)
		m[key] = sub
		return sub
	}
	take(out, "sweep", "sweep")
	for _, role := range []string{"image_encoder", "text_encoder", "loss"} {
		if s := section(out, role); s != nil {
			take(s, "config", role+".config")
		}
	}
	if data := section(out, "data"); data != nil {
		if s := section(data, "pretrain"); s != nil {
			take(s, "config", "data.pretrain.config")
		}
	}
	if evals, ok := out["evaluate"].([]any); ok {
		evals = append([]any(nil), evals...)
		out["evaluate"] = evals
		for i, e := range evals {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			em = shallow(em)
			evals[i] = em
			p := "evaluate." + strconv.Itoa(i)
			take(em, "prompts", p+".prompts")
			for _, role := range []string{"evaluator", "dataset"} {
				if s := section(em, role); s != nil {
					take(s, "config", p+"."+role+".config")
				}
			}
		}
	}
	return out, wide
}

func shallow(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// roundTripEach decodes each value of v into a T as roundTrip does (the
// issues name path.<key>), keyed as in v.
func roundTripEach[T any](path string, v map[string]any) (map[string]T, []schema.Issue) {
	m := make(map[string]T, len(v))
	var out []schema.Issue
	for k, x := range v {
		var t T
		if is := roundTrip(path+"."+k, x, &t); is != nil {
			out = append(out, *is)
		}
		m[k] = t
	}
	return m, out
}

// setWide sets the typed field at path, one that splitWide took out, from
// v, returning what does not fit.
func (r *Recipe) setWide(path string, v map[string]any) []schema.Issue {
	segs := strings.Split(path, ".")
	if segs[0] == "sweep" {
		var out []schema.Issue
		r.Sweep, out = roundTripEach[[]any](path, v)
		return out
	}
	if segs[0] == "evaluate" {
		i, _ := strconv.Atoi(segs[1])
		e := &r.Evaluate[i]
		switch segs[2] {
		case "prompts":
			var out []schema.Issue
			e.Prompts, out = roundTripEach[[]string](path, v)
			return out
		case "evaluator":
			return configOf(path, v, &e.Evaluator.Config)
		case "dataset":
			return configOf(path, v, &e.Dataset.Config)
		}
	}
	switch segs[0] {
	case "image_encoder":
		return configOf(path, v, &r.ImageEncoder.Config)
	case "text_encoder":
		if r.TextEncoder != nil {
			return configOf(path, v, &r.TextEncoder.Config)
		}
	case "loss":
		if r.Loss != nil {
			return configOf(path, v, &r.Loss.Config)
		}
	case "data":
		if r.Data.Pretrain != nil {
			return configOf(path, v, &r.Data.Pretrain.Config)
		}
	}
	return nil
}

// configOf sets *dst to a copy of a plugin config as the yaml.v3 round trip
// of decode gives it.
func configOf(path string, v map[string]any, dst *map[string]any) []schema.Issue {
	m, is := sameAsYAML(path, v)
	if is != nil {
		return []schema.Issue{*is}
	}
	*dst, _ = m.(map[string]any)
	return nil
}

// sameAsYAML returns what a yaml.v3 round trip into an any makes of v (a
// float 2.0 becomes the int 2, for one), building maps and lists itself and
// round-tripping only the values in them.
func sameAsYAML(path string, v any) (any, *schema.Issue) {
	switch x := schema.Normalize(v).(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, is := sameAsYAML(path+"."+k, e)
			if is != nil {
				return nil, is
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, is := sameAsYAML(path+"."+strconv.Itoa(i), e)
			if is != nil {
				return nil, is
			}
			out[i] = c
		}
		return out, nil
	default:
		var out any
		is := roundTrip(path, x, &out)
		return out, is
	}
}

// roundTrip decodes the YAML encoding of v into dst; what does not fit is an
// issue at path.
func roundTrip(path string, v, dst any) *schema.Issue {
	b, err := yaml.Marshal(v)
	if err == nil {
		err = yaml.Unmarshal(b, dst)
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = yamlLinePrefix.ReplaceAllString(strings.Join(te.Errors, "; "), "")
	}
	return &schema.Issue{Path: path, Message: msg}
}

// placeTypeErrors turns decode's "line N: cannot unmarshal ..." errors
// about tree, whose lines are those of the marshalled tree, into
// diagnostics at the key path on that line.
func (r *Recipe) placeTypeErrors(tree map[string]any, errs []string) []Diagnostic {
	b, err := yaml.Marshal(tree) // what decode read: the same bytes
	if err != nil {
		b = nil
	}
	atLine := map[int]string{} // the deepest key path on each line of b
	for p, line := range lineIndex(b) {
		if q, ok := atLine[line]; !ok || strings.Count(p, ".") > strings.Count(q, ".") {
			atLine[line] = p
		}
	}
	out := make([]Diagnostic, 0, len(errs))
	for _, e := range errs {
		msg := yamlLinePrefix.ReplaceAllString(e, "")
		path := ""
		if m := yamlLinePrefix.FindStringSubmatch(e); m != nil {
			n, _ := strconv.Atoi(m[1])
			path = atLine[n]
		}
		if m := floatIntoInt.FindStringSubmatch(msg); m != nil && path != "" {
			if x, ok := schema.Number(getPath(r.tree, strings.Split(path, "."))); ok {
				msg = fmt.Sprintf("value %v does not fit an %s (at most %d)", x, m[1], int64(math.MaxInt64))
			}
		}
		if path == "" {
			msg = "resolved recipe: " + e
		}
		out = append(out, r.diagnostic(schema.Issue{Path: path, Message: msg}))
	}
	return out
}

var (
	yamlLinePrefix = regexp.MustCompile(`^line (\d+): `)
	floatIntoInt   = regexp.MustCompile("^cannot unmarshal !!float `.*` into (u?int(?:8|16|32|64)?)$")
)
