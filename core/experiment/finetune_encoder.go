package experiment

import (
	"context"
	"fmt"
	"math"

	"github.com/convirt/convirt/core/finetune"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// finetuneEncoder starts a fresh image encoder with init's weights (as
// evalRun.encoder does) and the fine-tuning optimisation of
// finetuneEncoderConfig.
func (er *evalRun) finetuneEncoder(ctx context.Context, init string, totalSteps int) (*host.Encoder, error) {
	ref := er.s.r.ImageEncoder
	cfg, err := er.finetuneEncoderConfig(init, totalSteps)
	if err != nil {
		return nil, err
	}
	c, err := er.s.opt.Launcher.Encoder(ctx, ref.Plugin, cfg)
	if err != nil {
		return nil, fmt.Errorf("image_encoder: %w", err)
	}
	if init != "convirt" {
		return c, nil
	}
	st, err := er.convirtState("image")
	if err == nil {
		err = c.SetState(ctx, st)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("image_encoder: restore the pretrained state: %w", err)
	}
	return c, nil
}

// finetuneEncoderConfig is the image encoder's config for one fine-tuning
// probe: the recipe's finetune optimizer, lr and weight_decay replace
// pretraining's for every key the encoder declares, and the evaluation's
// precision is its eval_precision (evalEncoderConfig: its validation and
// test forwards; its training steps keep the encoder's precision);
// totalSteps sizes a cosine schedule. A plateau schedule's patience is
// capped at plateauPatience, so that its learning-rate cut can fire before
// early stopping ends the probe.
func (er *evalRun) finetuneEncoderConfig(init string, totalSteps int) (map[string]any, error) {
	ref := er.s.r.ImageEncoder
	cfg := er.s.evalEncoderConfig(er.e, ref, totalSteps, init == "random")
	ft := er.e.Finetune
	// restore_optimizer false: a restored pretraining state brings its
	// weights only, so the fine-tuning optimiser starts fresh at its lr.
	over := map[string]any{"optimizer": ft.Optimizer, "lr": ft.LR, "weight_decay": ft.WeightDecay, "restore_optimizer": false}
	sc, ok := er.s.opt.Launcher.Schema(ref.Plugin)
	if ok {
		for _, f := range sc.Fields {
			if v, ok := over[f.Name]; ok {
				cfg[f.Name] = v
			}
		}
	}
	if w, _ := cfg["weights"].(string); init == "imagenet" && w == "" {
		return nil, fmt.Errorf("init imagenet needs image_encoder.config.weights")
	}
	if kind, _ := cfg["schedule"].(string); kind == "plateau" && ft.Patience > 0 {
		p, ok := intValue(cfg["patience"])
		if !ok {
			return cfg, nil // the encoder declares no plateau patience
		}
		capped, fires := finetune.PlateauPatience(p, ft.Patience)
		if !fires {
			fmt.Fprintf(er.s.log, "finetune %s: warning: with patience %d, early stopping ends a probe at the first epoch without a lower validation loss, before the plateau schedule can cut the learning rate\n", er.e.Name, ft.Patience)
		} else if capped != p {
			fmt.Fprintf(er.s.log, "finetune %s: plateau patience %d capped at %d (finetune.patience %d - 2), so the learning-rate cut can fire before early stopping\n", er.e.Name, p, capped, ft.Patience)
			cfg["patience"] = capped
		}
	}
	return cfg, nil
}

// intValue reads an integer config value (decoded YAML or JSON gives an
// integer type or a whole float64).
func intValue(v any) (int, bool) {
	if n, ok := schema.Number(v); ok && n == math.Trunc(n) {
		return int(n), true
	}
	return 0, false
}

// configureHead gives the evaluator a fresh head for one probe: the
// recipe's evaluator config, the finetune lr and weight_decay where that
// config leaves them unset, and the head's task, shape and seed.
func (er *evalRun) configureHead(ctx context.Context, task string, in, out, seed int) error {
	ft := er.e.Finetune
	cfg := er.s.withRunDefaults(er.e.Evaluator.Plugin, er.e.Evaluator.Config, map[string]any{"lr": ft.LR, "weight_decay": ft.WeightDecay})
	cfg["task"], cfg["in"], cfg["out"], cfg["seed"] = task, in, out, seed
	if err := er.ev.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("evaluator: configure the head: %w", err)
	}
	return nil
}
