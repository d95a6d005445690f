package clip

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Optimizer names accepted in Config.Optimizer.
const (
	OptimizerAdam = "adam"
	OptimizerSGD  = "sgd"
)

// Config holds the loss's hyper-parameters and its optimiser settings.
type Config struct {
	// Lambda weighs the image-to-text direction, 1 - Lambda the other; CLIP
	// uses 0.5. In [0, 1].
	Lambda float64 `json:"lambda" min:"0" max:"1" doc:"weight of the image-to-text direction"`
	// InitLogScale is the initial s; CLIP's is log(1/0.07).
	InitLogScale float64 `json:"init_logit_scale" doc:"initial log of 1/temperature"`
	// MaxLogScale caps s (log(100) in CLIP); s is also kept >= 0.
	MaxLogScale float64 `json:"max_logit_scale" min:"0" doc:"cap on the log scale"`
	// Learnable turns the updates of s on; when false s stays fixed.
	Learnable bool `json:"learnable" doc:"learn the temperature"`
	// Optimizer is "adam" or "sgd".
	Optimizer string `json:"optimizer" enum:"adam|sgd" doc:"optimiser of the temperature"`
	// LR is the learning rate of s; >= 0.
	LR float64 `json:"lr" min:"0" doc:"learning rate of the temperature"`
	// Beta1, Beta2 and Eps are Adam's constants.
	Beta1 float64 `json:"beta1" doc:"Adam beta1"`
	Beta2 float64 `json:"beta2" doc:"Adam beta2"`
	Eps   float64 `json:"eps" doc:"Adam epsilon"`
}

// DefaultConfig returns CLIP's settings: symmetric loss, learnable scale
// starting at 1/0.07 and capped at 100, Adam with lr 1e-4.
func DefaultConfig() Config {
	return Config{
		Lambda:       0.5,
		InitLogScale: math.Log(1 / 0.07),
		MaxLogScale:  math.Log(100),
		Learnable:    true,
		Optimizer:    OptimizerAdam,
		LR:           1e-4,
		Beta1:        0.9,
		Beta2:        0.999,
		Eps:          1e-8,
	}
}

// Schema is the plugin's config schema, derived from Config's tags with
// DefaultConfig's values.
var Schema = schema.MustDerive(DefaultConfig())

// Validate checks the fields' ranges and allowed values (Config's tags) and
// Adam's constants when the optimiser is Adam, naming the one at fault.
func (c Config) Validate() error {
	if err := schema.ValidateAs("clip", c); err != nil {
		return err
	}
	switch {
	case c.Optimizer == OptimizerAdam && !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("clip: beta1 must be in [0, 1), got %v", c.Beta1)
	case c.Optimizer == OptimizerAdam && !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("clip: beta2 must be in [0, 1), got %v", c.Beta2)
	case c.Optimizer == OptimizerAdam && !(c.Eps > 0):
		return fmt.Errorf("clip: eps must be > 0, got %v", c.Eps)
	}
	return nil
}
