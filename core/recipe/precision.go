package recipe

import (
	"fmt"
	"strconv"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// PrecisionKey is the encoder config key of its training precision.
const PrecisionKey = "precision"

// EvalPrecisionKey is the encoder config key an evaluation's precision
// (Eval.Precision, evaluate.N.precision) is handed to the encoders as.
const EvalPrecisionKey = "eval_precision"

// PrecisionFP32 is Eval.Precision's default: the encoders' forwards run
// without autocast.
const PrecisionFP32 = "fp32"

// Encoder sections of a recipe, as EvalEncoders names them.
const (
	ImageEncoderKey = "image_encoder"
	TextEncoderKey  = "text_encoder"
)

// EvalEncoders names the encoder sections whose forwards an evaluation of
// protocol runs: image_encoder always; text_encoder too for zeroshot (the
// class prompts) and retrieval (the text queries) when the recipe has one.
func EvalEncoders(protocol string, hasText bool) []string {
	if hasText && (protocol == sdk.ProtocolZeroShot || protocol == sdk.ProtocolRetrieval) {
		return []string{ImageEncoderKey, TextEncoderKey}
	}
	return []string{ImageEncoderKey}
}

// TextConfig is the text encoder's config; nil when the recipe has none.
func (r *Recipe) TextConfig() map[string]any {
	if r.TextEncoder == nil {
		return nil
	}
	return r.TextEncoder.Config
}

// checkEvalPrecision reports each evaluation whose precision is not fp32
// while an encoder it runs declares no eval_precision key: the precision
// reaches the encoders only through that key, and such an encoder would
// run in its own precision without a word.
func checkEvalPrecision(tree map[string]any, plugins PluginLookup) []schema.Issue {
	if plugins == nil {
		return nil
	}
	evals, _ := tree["evaluate"].([]any)
	var out []schema.Issue
	for i, e := range evals {
		m, _ := e.(map[string]any)
		p, _ := m[PrecisionKey].(string)
		if p == "" || p == PrecisionFP32 {
			continue
		}
		protocol, _ := m["protocol"].(string)
		for _, key := range EvalEncoders(protocol, tree[TextEncoderKey] != nil) {
			sec, _ := tree[key].(map[string]any)
			name, _ := sec["plugin"].(string)
			sc, ok := plugins(name)
			if !ok {
				continue // an unknown plugin is reported by Validate
			}
			if _, ok := sc.Field(EvalPrecisionKey); !ok {
				out = append(out, schema.Issue{Path: "evaluate." + strconv.Itoa(i) + ".precision",
					Message: fmt.Sprintf("%s reaches the encoders as their %s key, which %s plugin %q does not declare (it would run in its own precision); use fp32, or an encoder that has the key", p, EvalPrecisionKey, key, name)})
			}
		}
	}
	return out
}
