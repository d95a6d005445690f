package experiment

import "maps"

// withRunDefaults returns a copy of cfg completed with the run-wide values
// in run (device, seed, the optimisation) for each key the plugin's schema
// declares and cfg leaves unset: a recipe states the optimisation once, and
// a plugin config that sets a key itself wins.
func (s *session) withRunDefaults(plugin string, cfg, run map[string]any) map[string]any {
	out := maps.Clone(cfg)
	if out == nil {
		out = map[string]any{}
	}
	sc, ok := s.opt.Launcher.Schema(plugin)
	if !ok {
		return out
	}
	for _, f := range sc.Fields {
		if v, ok := run[f.Name]; ok {
			if _, set := out[f.Name]; !set {
				out[f.Name] = v
			}
		}
	}
	return out
}

// encoderConfig is an encoder plugin's config for this run: the recipe's
// config with the run's device, seed and optimisation filled in. totalSteps
// sizes a cosine schedule. With random set, pretrained weights are dropped,
// so the encoder starts from its seeded random initialisation.
func (s *session) encoderConfig(plugin string, cfg map[string]any, totalSteps int, random bool) map[string]any {
	t := s.r.Train
	run := map[string]any{
		"device": s.r.Device, "seed": s.r.Seed,
		"optimizer": t.Optimizer, "lr": t.LR, "weight_decay": t.WeightDecay,
		"schedule": t.Schedule.Kind, "factor": t.Schedule.Factor, "patience": t.Schedule.Patience,
		"warmup_steps": t.Schedule.WarmupSteps, "total_steps": totalSteps,
	}
	out := s.withRunDefaults(plugin, cfg, run)
	if random {
		delete(out, "weights")
	}
	return out
}
