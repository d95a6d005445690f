package optim

// Settings are the optimiser keys of a plugin's config: which optimiser,
// its learning rate and its weight decay. The torch encoders' config and
// the configs of losses with parameters of their own embed them, so the
// keys are named, documented and checked once.
type Settings struct {
	Optimizer   string  `json:"optimizer" enum:"adam|adamw|sgd" doc:"optimiser: adam (L2 weight decay, as the paper), adamw (decoupled weight decay) or sgd"`
	LR          float64 `json:"lr" min:"0" doc:"learning rate"`
	WeightDecay float64 `json:"weight_decay" min:"0" doc:"weight decay: L2 (adam, sgd) or decoupled (adamw)"`
}

// Config is the optimiser s selects, with the default betas and epsilon
// and no momentum.
func (s Settings) Config() Config {
	return Config{Name: s.Optimizer, LR: s.LR, WeightDecay: s.WeightDecay}
}
