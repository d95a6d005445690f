package recipe

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Plugin kinds, as PluginUse.Kind reports them.
const (
	KindEncoder   = "encoder"
	KindLoss      = "loss"
	KindDataset   = "dataset"
	KindEvaluator = "evaluator"
)

// maxSeeds bounds an evaluation's seed count.
const maxSeeds = 1000

// PluginUse is one plugin a recipe names: the key path of its section
// ("image_encoder", "evaluate.0.dataset"), the plugin kind, its name and
// config.
type PluginUse struct {
	Path   string
	Kind   string
	Name   string
	Config map[string]any
}

// Plugins lists every plugin the recipe names, in a fixed order: pretraining
// data, image encoder, text encoder, loss, then each evaluation's evaluator
// and dataset. It works on invalid recipes too, skipping malformed sections.
func (r *Recipe) Plugins() []PluginUse {
	var out []PluginUse
	add := func(path, kind string) {
		m, ok := getPath(r.tree, strings.Split(path, ".")).(map[string]any)
		if !ok {
			return
		}
		name, _ := m["plugin"].(string)
		cfg, _ := m["config"].(map[string]any)
		out = append(out, PluginUse{Path: path, Kind: kind, Name: name, Config: cfg})
	}
	add("data.pretrain", KindDataset)
	add("image_encoder", KindEncoder)
	add("text_encoder", KindEncoder)
	add("loss", KindLoss)
	evals, _ := r.tree["evaluate"].([]any)
	for i := range evals {
		add("evaluate."+strconv.Itoa(i)+".evaluator", KindEvaluator)
		add("evaluate."+strconv.Itoa(i)+".dataset", KindDataset)
	}
	return out
}

// Validate checks a resolved recipe against Schema and the rules that span
// fields, and, when plugins is non-nil, every plugin name and config against
// the plugin's own schema. It returns every problem, sorted; none means valid.
func Validate(r *Recipe, plugins PluginLookup) []Diagnostic {
	issues := Schema.Check("", r.tree)
	issues = append(issues, crossChecks(r.tree)...)
	issues = append(issues, checkDistributed(r.tree)...)
	issues = append(issues, checkSweep(r.tree, plugins)...)
	issues = append(issues, checkEvalPrecision(r.tree, plugins)...)
	if plugins != nil {
		for _, u := range r.Plugins() {
			if u.Name == "" {
				continue // reported by the schema check
			}
			ps, ok := plugins(u.Name)
			if !ok {
				issues = append(issues, schema.Issue{Path: u.Path + ".plugin", Message: unknownPluginMessage(u)})
				continue
			}
			cfg := u.Config
			if cfg == nil {
				cfg = map[string]any{}
			}
			issues = append(issues, ps.Check(u.Path+".config", cfg)...)
		}
	}
	out := make([]Diagnostic, 0, len(issues))
	for _, is := range issues {
		out = append(out, r.diagnostic(is))
	}
	return sortDiagnostics(out)
}

// diagnostic places an issue at the file and line its key came from.
func (r *Recipe) diagnostic(is schema.Issue) Diagnostic {
	d := Diagnostic{File: r.Source, Path: is.Path, Message: is.Message, Suggestion: is.Suggestion}
	if o, ok := originOf(r.origins, is.Path); ok {
		switch o.Kind {
		case FromFile:
			d.File, d.Line = o.File, o.Line
		case FromSet:
			d.File = "--set " + o.Text
		case FromSweep:
			d.File = r.Source + " (sweep " + o.Text + ")"
		}
	}
	return d
}

// crossChecks are the rules no single field can express.
func crossChecks(tree map[string]any) []schema.Issue {
	var out []schema.Issue
	// Pretraining needs a loss. Whether it needs a text encoder is the
	// loss's to say (sdk.Info.Needs, which a plugin's schema does not
	// carry): the run checks it when it starts the loss, naming
	// text_encoder when it is missing and needed.
	if data, ok := tree["data"].(map[string]any); ok && data["pretrain"] != nil && tree["loss"] == nil {
		out = append(out, schema.Issue{Path: "loss", Message: "is required when data.pretrain is set (pretraining needs a loss)"})
	}
	if e, ok := tree["experiment"].(string); ok {
		if err := runs.ValidName(e); err != nil {
			out = append(out, schema.Issue{Path: "experiment", Message: fmt.Sprintf("%q %v (runs are stored in output/experiment/)", e, err)})
		}
	}
	evals, _ := tree["evaluate"].([]any)
	seen := map[string]int{}
	for i, e := range evals {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		path := "evaluate." + strconv.Itoa(i)
		if name, ok := m["name"].(string); ok {
			if j, dup := seen[name]; dup {
				out = append(out, schema.Issue{Path: path + ".name", Message: fmt.Sprintf("%q is already the name of evaluate.%d", name, j)})
			}
			seen[name] = i
		}
		if s, ok := m["seeds"]; ok {
			if msg := checkSeeds(s); msg != "" {
				out = append(out, schema.Issue{Path: path + ".seeds", Message: msg})
			}
		}
		out = append(out, zeroshotInits(m, path)...)
		if m["protocol"] == "zeroshot" && tree["text_encoder"] == nil {
			out = append(out, schema.Issue{Path: path + ".protocol", Message: "zeroshot compares images with class prompts encoded by the text encoder, and the recipe has no text_encoder (a run pretrained with a captioning loss trains none); use protocol linear, or add a text_encoder"})
		}
		out = append(out, repeats(m, path, "fractions", "fraction")...)
		out = append(out, repeats(m, path, "inits", "init")...)
		out = append(out, repeats(m, path, "seeds", "seed")...)
	}
	return out
}

// zeroshotInits reports the inits of a zeroshot evaluation other than
// convirt: zero-shot classification compares image and text projections,
// which share a space only where the two heads were trained together
// (ConVIRT pretraining); a random or ImageNet init's heads are untrained,
// and its score would measure noise. (Text-image retrieval skips such inits
// with a note; a zeroshot entry is nothing but text-image, so naming them is
// a mistake in the recipe.)
func zeroshotInits(m map[string]any, path string) []schema.Issue {
	if m["protocol"] != "zeroshot" {
		return nil
	}
	l, _ := m["inits"].([]any)
	var out []schema.Issue
	for i, e := range l {
		if s, ok := e.(string); ok && s != "convirt" {
			out = append(out, schema.Issue{Path: path + ".inits." + strconv.Itoa(i),
				Message: fmt.Sprintf("%q: zeroshot compares image and text projections, which share a space only for init convirt (its two heads were trained together); remove it", s)})
		}
	}
	return out
}

// repeats reports each element of the list at m[key] that repeats an
// earlier one: a fraction, init or seed given twice runs the same cells
// twice and counts them twice in the mean.
func repeats(m map[string]any, path, key, what string) []schema.Issue {
	l, _ := m[key].([]any)
	var out []schema.Issue
	first := map[any]int{}
	for i, e := range l {
		k := e
		if x, ok := schema.Number(e); ok {
			k = x // 1 and 1.0 are the same fraction
		}
		switch k.(type) {
		case string, float64:
		default:
			continue // a type error, reported by the schema
		}
		if j, dup := first[k]; dup {
			v := fmt.Sprint(e)
			if s, ok := e.(string); ok {
				v = strconv.Quote(s)
			}
			out = append(out, schema.Issue{Path: fmt.Sprintf("%s.%s.%d", path, key, i), Message: fmt.Sprintf("%s is already %s %d of this evaluation", v, what, j)})
			continue
		}
		first[k] = i
	}
	return out
}

func checkSeeds(v any) string {
	if x, ok := schema.Number(v); ok {
		if x != math.Trunc(x) || x < 1 || x > maxSeeds {
			return fmt.Sprintf("a seed count must be an int in [1, %d], got %v", maxSeeds, v)
		}
		return ""
	}
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return fmt.Sprintf("expected a seed count or a non-empty list of seeds, got %s", schema.TypeOf(v))
	}
	for _, e := range l {
		if x, ok := schema.Number(e); !ok || x != math.Trunc(x) || x < 0 || x > math.MaxInt32 {
			return fmt.Sprintf("seeds must be ints >= 0, got %v", e)
		}
	}
	return ""
}

// checkSweep checks that every sweep key names a recipe field (not the sweep
// itself) and that every alternative is a valid value for it.
func checkSweep(tree map[string]any, plugins PluginLookup) []schema.Issue {
	sw, _ := tree["sweep"].(map[string]any)
	var out []schema.Issue
	for _, k := range slices.Sorted(maps.Keys(sw)) {
		path := "sweep." + k
		segs := strings.Split(k, ".")
		if segs[0] == "sweep" || segs[0] == "base" || segs[0] == "name" {
			out = append(out, schema.Issue{Path: path, Message: fmt.Sprintf("%s cannot be swept", segs[0])})
			continue
		}
		f, err := fieldFor(tree, segs, plugins)
		if err != nil {
			is := schema.Issue{Path: path, Message: err.Error()}
			if ie, ok := err.(*issueError); ok {
				is.Message = fmt.Sprintf("sweeps %s, which %s", ie.Path, ie.Message)
				is.Suggestion = ie.Suggestion
			}
			out = append(out, is)
			continue
		}
		alts, ok := sw[k].([]any)
		if !ok || len(alts) == 0 {
			out = append(out, schema.Issue{Path: path, Message: fmt.Sprintf("expected a non-empty list of alternatives, got %s", schema.TypeOf(sw[k]))})
			continue
		}
		f.Required = false
		for i, a := range alts {
			out = append(out, f.Check(path+"."+strconv.Itoa(i), a)...)
		}
	}
	return out
}
