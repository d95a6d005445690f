// Package recipe loads experiment recipes: YAML files that name the plugin
// for every role with its config, the optimisation, the evaluations, the
// tracking and sweeps. Recipes inherit from base recipes, take `--set`
// overrides typed by the schema, expand ${VAR} environment variables, and are
// validated strictly (unknown keys, types, ranges, required fields, plugin
// schemas) before anything runs. Every resolved value remembers where it came
// from. See docs/recipes.md, generated from Schema.
package recipe

import (
	"fmt"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"gopkg.in/yaml.v3"
)

// Recipe is a fully resolved recipe: bases merged, overrides applied,
// defaults filled in. The typed fields are set only when the recipe is valid.
type Recipe struct {
	Name         string     `yaml:"name"`
	Experiment   string     `yaml:"experiment"`
	Seed         int        `yaml:"seed"`
	Device       string     `yaml:"device"`
	Output       string     `yaml:"output"`
	Data         Data       `yaml:"data"`
	ImageEncoder PluginRef  `yaml:"image_encoder"`
	TextEncoder  *PluginRef `yaml:"text_encoder"` // nil when absent
	Loss         *PluginRef `yaml:"loss"`         // nil when absent
	Train        Train      `yaml:"train"`
	Evaluate     []Eval     `yaml:"evaluate"`
	// Sweep maps a dotted key path to its alternatives; see Expand.
	Sweep    map[string][]any `yaml:"sweep"`
	Tracking Tracking         `yaml:"tracking"`

	// Source is the file the recipe was loaded from.
	Source string `yaml:"-"`
	// Overrides are the raw `--set key=value` arguments, in order.
	Overrides []string `yaml:"-"`

	tree    map[string]any
	origins map[string]Origin
}

// PluginRef names the plugin playing one role and its config.
type PluginRef struct {
	Plugin string         `yaml:"plugin"`
	Config map[string]any `yaml:"config"`
}

// Data is the data section: the optional synthetic corpus and the
// pretraining dataset.
type Data struct {
	Synth    *Synth     `yaml:"synth"`    // nil when absent
	Pretrain *PluginRef `yaml:"pretrain"` // nil: the run only evaluates
}

// Synth configures the synthetic corpus written before the run.
type Synth struct {
	Root  string `yaml:"root"`
	Pairs int    `yaml:"pairs"`
	Size  int    `yaml:"size"`
	Seed  int    `yaml:"seed"`
}

// Train is the pretraining optimisation.
type Train struct {
	Optimizer       string        `yaml:"optimizer"`
	LR              float64       `yaml:"lr"`
	WeightDecay     float64       `yaml:"weight_decay"`
	Momentum        float64       `yaml:"momentum"`
	BatchSize       int           `yaml:"batch_size"`
	Epochs          int           `yaml:"epochs"`
	MaxSteps        int           `yaml:"max_steps"`
	MaxMinutes      float64       `yaml:"max_minutes"`
	Schedule        Schedule      `yaml:"schedule"`
	EarlyStopping   EarlyStopping `yaml:"early_stopping"`
	CheckpointEvery int           `yaml:"checkpoint_every"`
	GradCache       GradCache     `yaml:"grad_cache"`
	TextSampling    string        `yaml:"text_sampling"`
	ValBatches      int           `yaml:"val_batches"`
	MaxRestarts     int           `yaml:"max_restarts"`
	Prefetch        int           `yaml:"prefetch"`
	LengthBuckets   int           `yaml:"length_buckets"`
	// SequentialEncoders runs the two encoders in turn (train.Config).
	SequentialEncoders bool `yaml:"sequential_encoders"`
}

// Schedule is the learning-rate schedule.
type Schedule struct {
	Kind        string  `yaml:"kind"`
	Factor      float64 `yaml:"factor"`
	Patience    int     `yaml:"patience"`
	WarmupSteps int     `yaml:"warmup_steps"`
}

// EarlyStopping stops training on a validation-loss plateau; Patience 0 is off.
type EarlyStopping struct {
	Patience int     `yaml:"patience"`
	MinDelta float64 `yaml:"min_delta"`
}

// GradCache configures chunked recomputation; Chunk 0 is off.
type GradCache struct {
	Chunk int `yaml:"chunk"`
}

// Eval is one evaluation entry.
type Eval struct {
	Name       string    `yaml:"name"`
	Evaluator  PluginRef `yaml:"evaluator"`
	Dataset    PluginRef `yaml:"dataset"`
	Protocol   string    `yaml:"protocol"`
	Fractions  []float64 `yaml:"fractions"`
	Seeds      Seeds     `yaml:"seeds"`
	Inits      []string  `yaml:"inits"`
	Checkpoint string    `yaml:"checkpoint"`
	// CheckpointSelect is CheckpointBest or CheckpointLast: which pretrained
	// weights init convirt uses.
	CheckpointSelect string `yaml:"checkpoint_select"`
	// Prompts are the zero-shot protocol's texts, per class.
	Prompts map[string][]string `yaml:"prompts"`
	// Finetune is the fine-tuning protocol's training of the image encoder
	// (the head's own settings are the evaluator's config).
	Finetune struct {
		Epochs      int     `yaml:"epochs"`
		BatchSize   int     `yaml:"batch_size"`
		Optimizer   string  `yaml:"optimizer"`
		LR          float64 `yaml:"lr"`
		WeightDecay float64 `yaml:"weight_decay"`
		Patience    int     `yaml:"patience"`
		Augment     bool    `yaml:"augment"`
		ValFraction float64 `yaml:"val_fraction"`
		ValSeed     int     `yaml:"val_seed"`
	} `yaml:"finetune"`
}

// Tracking says where run records go besides the run directory.
type Tracking struct {
	MLflow  MLflow `yaml:"mlflow"`
	LogText bool   `yaml:"log_text"`
}

// MLflow is the MLflow REST tracking target; an empty URI is off.
type MLflow struct {
	URI        string `yaml:"uri"`
	Experiment string `yaml:"experiment"`
}

// Seeds is the list of seeds of an evaluation; in YAML it is a count n
// (meaning 0..n-1) or a list.
type Seeds []int

// UnmarshalYAML accepts a count or a list of ints.
func (s *Seeds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var c int
		if err := n.Decode(&c); err != nil {
			return fmt.Errorf("seeds: %w", err)
		}
		*s = make(Seeds, c)
		for i := range *s {
			(*s)[i] = i
		}
		return nil
	}
	var l []int
	if err := n.Decode(&l); err != nil {
		return fmt.Errorf("seeds: %w", err)
	}
	*s = l
	return nil
}

// Tree returns a deep copy of the resolved recipe as decoded YAML values
// (map[string]any, []any, string, int, float64, bool).
func (r *Recipe) Tree() map[string]any {
	return schema.Normalize(r.tree).(map[string]any)
}

// Origins returns where each resolved key path came from.
func (r *Recipe) Origins() map[string]Origin {
	out := make(map[string]Origin, len(r.origins))
	for k, v := range r.origins {
		out[k] = v
	}
	return out
}

// decode fills the typed fields from the resolved tree.
func (r *Recipe) decode() error {
	b, err := yaml.Marshal(r.tree)
	if err != nil {
		return fmt.Errorf("recipe %s: encode resolved tree: %w", r.Source, err)
	}
	if err := yaml.Unmarshal(b, r); err != nil {
		return fmt.Errorf("recipe %s: decode resolved tree: %w", r.Source, err)
	}
	return nil
}
