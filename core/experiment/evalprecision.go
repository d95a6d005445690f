package experiment

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/convirt/convirt/core/recipe"
)

// evalEncoderConfig is an encoder's config for evaluation e: encoderConfig's,
// with e's precision as the encoder's eval_precision (recipe.EvalPrecisionKey)
// where the encoder declares that key and its recipe config does not set it
// (an encoder's own eval_precision wins, as its own device or lr does).
func (s *session) evalEncoderConfig(e recipe.Eval, ref recipe.PluginRef, totalSteps int, random bool) map[string]any {
	cfg := s.encoderConfig(ref.Plugin, ref.Config, totalSteps, random)
	if e.Precision == "" {
		return cfg // an Eval built without the recipe's defaults
	}
	return s.withRunDefaults(ref.Plugin, cfg, map[string]any{recipe.EvalPrecisionKey: e.Precision})
}

// encoderRef is the recipe's section of an encoder (recipe.ImageEncoderKey
// or recipe.TextEncoderKey); ok is false for a text encoder the recipe has
// not.
func (s *session) encoderRef(key string) (ref recipe.PluginRef, ok bool) {
	if key == recipe.TextEncoderKey {
		if s.r.TextEncoder == nil {
			return recipe.PluginRef{}, false
		}
		return *s.r.TextEncoder, true
	}
	return s.r.ImageEncoder, true
}

// checkEvalPrecision configures, before pretraining, each encoder that an
// evaluation will run in a precision other than fp32, and closes it. An
// encoder refuses a precision its device or libtorch build cannot run when
// it is configured (as it refuses its training precision when pretraining
// starts); without this check an evaluation's refusal would come only
// after pretraining and the evaluations before it. fp32 runs everywhere
// and starts nothing here.
func (s *session) checkEvalPrecision(ctx context.Context) error {
	checked := map[string]bool{}
	for i, e := range s.r.Evaluate {
		for _, key := range recipe.EvalEncoders(e.Protocol, s.r.TextEncoder != nil) {
			ref, _ := s.encoderRef(key)
			// Random weights: the precision does not depend on them, and
			// reading a weights file is not this check's business.
			cfg := s.evalEncoderConfig(e, ref, 0, true)
			p, _ := cfg[recipe.EvalPrecisionKey].(string)
			if p == "" || p == recipe.PrecisionFP32 {
				continue
			}
			id, err := json.Marshal(map[string]any{"role": key, "plugin": ref.Plugin, "config": cfg})
			if err != nil || checked[string(id)] {
				continue // a config that does not encode fails where the evaluation starts it
			}
			checked[string(id)] = true
			// The key that chose p: the encoder's own, else the evaluation's.
			from := fmt.Sprintf("evaluate.%d.precision (evaluation %s)", i, e.Name)
			if _, own := ref.Config[recipe.EvalPrecisionKey]; own {
				from = key + ".config." + recipe.EvalPrecisionKey
			}
			c, err := s.opt.Launcher.Encoder(ctx, ref.Plugin, cfg)
			if err != nil {
				return fmt.Errorf("%s %s: %s cannot run it: %w", from, p, key, err)
			}
			c.Close()
			fmt.Fprintf(s.log, "evaluate %s: %s configured with %s %s\n", e.Name, key, recipe.EvalPrecisionKey, p)
		}
	}
	return nil
}
