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
//
// The tagged structs below are the one definition of the recipe's keys:
// Schema is derived from them (schema.Derive: the yaml name, doc, default,
// min, max, enum, pattern and required tags), and docs/recipes.md is
// generated from Schema.
type Recipe struct {
	Name         string     `yaml:"name" required:"true" pattern:"[A-Za-z0-9][A-Za-z0-9._-]*" doc:"Short name of the experiment; names the run directory and the tracking run."`
	Experiment   string     `yaml:"experiment" default:"convirt" doc:"Experiment (group of runs) the run belongs to, locally and in MLflow."`
	Seed         int        `yaml:"seed" min:"0" doc:"Seed of every random choice of the run: initialisation, data order, augmentation."`
	Device       string     `yaml:"device" default:"cpu" pattern:"cpu|cuda(:[0-9]+)?" doc:"Device the model plugins run on: cpu, cuda or cuda:N."`
	Output       string     `yaml:"output" default:"runs" doc:"Directory under which the run directory (named by run id) is created."`
	Data         Data       `yaml:"data" doc:"Data the run uses."`
	ImageEncoder PluginRef  `yaml:"image_encoder" required:"true" doc:"Image encoder plugin (f_v and its projection head g_v)."`
	TextEncoder  *PluginRef `yaml:"text_encoder" doc:"Text encoder plugin (f_u, g_u); needed when the loss reads its output."` // nil when absent
	Loss         *PluginRef `yaml:"loss" doc:"Contrastive loss plugin; required when data.pretrain is set."`                   // nil when absent
	Train        Train      `yaml:"train" doc:"Pretraining optimisation."`
	Evaluate     []Eval     `yaml:"evaluate" doc:"Evaluations run after pretraining (or on their own); each entry is run for every fraction x init x seed."`
	// Sweep maps a dotted key path to its alternatives; see Expand.
	Sweep       map[string][]any "yaml:\"sweep\" doc:\"Key path -> list of alternatives (`train.lr: [1e-4, 1e-3]`, `evaluate.0.fractions: [[0.01], [1.0]]`). The run expands into one child run per combination (cartesian product).\""
	Tracking    Tracking         `yaml:"tracking" doc:"Where run records go besides the run directory."`
	Distributed Distributed      `yaml:"distributed" doc:"Data-parallel pretraining: replicas of each encoder plugin (docs/distributed.md)."`
	Report      Report           `yaml:"report" doc:"What the run's report.html shows besides its own results."`

	// Source is the file the recipe was loaded from.
	Source string `yaml:"-"`
	// Overrides are the raw `--set key=value` arguments, in order.
	Overrides []string `yaml:"-"`

	tree    map[string]any
	origins map[string]Origin
}

// PluginRef names the plugin playing one role and its config.
type PluginRef struct {
	Plugin string         `yaml:"plugin" required:"true" doc:"Name of the plugin (built-in or installed through the registry)."`
	Config map[string]any "yaml:\"config\" default:\"{}\" doc:\"The plugin's own settings, checked against the schema the plugin reports (see `convirt plugins list`).\""
}

// Data is the data section: the optional synthetic corpus and the
// pretraining dataset.
type Data struct {
	Synth    *Synth     "yaml:\"synth\" doc:\"When present, the synthetic corpus is written here first (as `convirt synth` does) unless it already exists.\"" // nil when absent
	Pretrain *PluginRef `yaml:"pretrain" doc:"Dataset plugin of image-report pairs for contrastive pretraining. Without it the run only evaluates."`          // nil: the run only evaluates
}

// Synth configures the synthetic corpus written before the run.
type Synth struct {
	Root  string `yaml:"root" required:"true" doc:"Directory the synthetic corpus is written to."`
	Pairs int    `yaml:"pairs" default:"4000" min:"16" doc:"Number of pretraining image-report pairs."`
	Size  int    `yaml:"size" default:"64" min:"16" max:"1024" doc:"Side of the square grayscale images, in pixels."`
	Seed  int    `yaml:"seed" min:"0" doc:"Seed of the generator (independent of the run's seed)."`
}

// Train is the pretraining optimisation.
type Train struct {
	Optimizer       string        `yaml:"optimizer" default:"adam" enum:"adam|adamw|sgd" doc:"Optimiser of both encoders."`
	LR              float64       `yaml:"lr" default:"1e-4" min:"0" max:"10" doc:"Learning rate."`
	WeightDecay     float64       `yaml:"weight_decay" default:"1e-6" min:"0" max:"1" doc:"Weight decay (L2 for adam and sgd, decoupled for adamw)."`
	Momentum        float64       `yaml:"momentum" default:"0.9" min:"0" max:"1" doc:"Momentum (sgd only)."`
	BatchSize       int           `yaml:"batch_size" default:"32" min:"2" max:"65536" doc:"Image-text pairs per contrastive batch (the negatives of each pair are the rest of the batch)."`
	Epochs          int           `yaml:"epochs" default:"100" min:"0" doc:"Maximum passes over the pretraining set (0: no limit)."`
	MaxSteps        int           `yaml:"max_steps" min:"0" doc:"Maximum optimisation steps (0: no limit). Training stops at the first limit reached."`
	MaxMinutes      float64       `yaml:"max_minutes" min:"0" doc:"Maximum wall-clock minutes of pretraining (0: no limit)."`
	Schedule        Schedule      `yaml:"schedule" doc:"Learning-rate schedule."`
	EarlyStopping   EarlyStopping `yaml:"early_stopping" doc:"Stop when the validation loss stops improving."`
	CheckpointEvery int           `yaml:"checkpoint_every" default:"1000" min:"0" doc:"Steps between checkpoints (0: only at the end)."`
	GradCache       GradCache     `yaml:"grad_cache" doc:"GradCache: embed the whole batch without a graph, then recompute in chunks on backward."`
	TextSampling    string        `yaml:"text_sampling" default:"sentence" enum:"sentence|report" doc:"sentence: one sentence sampled from Findings + Impression per step (the paper); report: the whole text."`
	ValBatches      int           `yaml:"val_batches" min:"0" doc:"Batches of the validation split scored after each epoch (0: all of it)."`
	MaxRestarts     int           `yaml:"max_restarts" default:"3" min:"0" max:"100" doc:"Times the plugins are restarted after a plugin process dies, each time resuming from the newest checkpoint (0: fail at once)."`
	Prefetch        int           `yaml:"prefetch" default:"2" min:"0" max:"64" doc:"Batches the host requests ahead from the dataset plugin."`
	LengthBuckets   int           `yaml:"length_buckets" min:"0" max:"1024" doc:"Sentence-length bucketing: each window of this many batches of the shuffled epoch is regrouped into batches of texts of similar length, so the text encoder pads less (0 or 1: off, the paper's random batches). Every pair is still seen once per epoch; a batch's negatives are then of similar length."`
	// SequentialEncoders runs the two encoders in turn (train.Config).
	SequentialEncoders bool `yaml:"sequential_encoders" doc:"Run the image and text encoders one after the other (forward, backward, optimiser step) instead of at the same time. On a CPU machine set it and leave each encoder's threads at the default (all cores): that beats two encoders dividing the cores (docs/performance.md). Results are the same either way."`
}

// Schedule is the learning-rate schedule.
type Schedule struct {
	Kind        string  `yaml:"kind" default:"plateau" enum:"plateau|cosine|none" doc:"plateau: multiply by factor when the validation loss has not improved for patience epochs; cosine: cosine decay to 0 over the step budget; none: constant."`
	Factor      float64 `yaml:"factor" default:"0.5" min:"0.01" max:"1" doc:"Multiplier applied on a plateau."`
	Patience    int     `yaml:"patience" default:"5" min:"0" doc:"Epochs without improvement before a plateau reduction."`
	WarmupSteps int     `yaml:"warmup_steps" min:"0" doc:"Steps of linear warm-up from 0 to lr."`
}

// EarlyStopping stops training on a validation-loss plateau; Patience 0 is off.
type EarlyStopping struct {
	Patience int     `yaml:"patience" min:"0" doc:"Epochs without improvement before stopping (0: off)."`
	MinDelta float64 `yaml:"min_delta" min:"0" doc:"Smallest decrease of the validation loss that counts as improvement."`
}

// GradCache configures chunked recomputation; Chunk 0 is off.
type GradCache struct {
	Chunk int `yaml:"chunk" min:"0" doc:"Pairs per recomputation chunk (0: off, the batch is one graph)."`
}

// Eval is one evaluation entry. Its keys' defaults are tags: an element of
// a list takes no values from a Go default.
type Eval struct {
	Name      string    `yaml:"name" required:"true" pattern:"[A-Za-z0-9][A-Za-z0-9._-]*" doc:"Unique name of the evaluation; names its results."`
	Evaluator PluginRef `yaml:"evaluator" required:"true" doc:"Evaluator plugin running the protocol."`
	Dataset   PluginRef `yaml:"dataset" required:"true" doc:"Dataset plugin of the labelled (or retrieval) data."`
	// Protocol is one of sdk.RecipeProtocols (the enum Schema adds).
	Protocol  string    `yaml:"protocol" required:"true" doc:"linear: frozen encoder, one linear layer; finetune: whole encoder trained; retrieval: image-image and text-image retrieval; zeroshot: classification by text prompts."`
	Fractions []float64 `yaml:"fractions" default:"[0.01, 0.1, 1.0]" min:"1e-4" max:"1" doc:"Fractions of the labelled training split used, each an independent random subset per seed."`
	// Seeds is a count or a list in YAML (its type and default Schema sets).
	Seeds Seeds    `yaml:"seeds" doc:"Random subsets per fraction: a count n (seeds 0..n-1) or an explicit list of seeds."`
	Inits []string `yaml:"inits" default:"[convirt]" enum:"convirt|random|imagenet" doc:"Image-encoder initialisations compared."`
	// Precision is the encoders' eval_precision for this evaluation
	// (core/experiment hands it to them): the precision of their forwards
	// that do not train.
	Precision string "yaml:\"precision\" default:\"fp32\" enum:\"fp32|bf16|fp16\" doc:\"Precision of the encoders' forwards that do not train in this evaluation: feature extraction for linear, retrieval and zeroshot, and fine-tuning's validation and test forwards (fine-tuning's training steps keep image_encoder.config.precision). fp32, or autocast to bf16 (CPUs with AVX-512 BF16 or AMX, GPUs of compute capability 8.0+) or fp16 (CUDA only). It is handed to each encoder as its eval_precision; an encoder config that sets eval_precision itself keeps it. A precision the device or libtorch build cannot run is refused before pretraining starts (docs/performance.md, Mixed precision).\""
	// Prompts are the zero-shot protocol's texts, per class.
	Prompts    map[string][]string `yaml:"prompts" doc:"zeroshot: class name -> list of prompt texts; a class's prompts are embedded by the text encoder and averaged."`
	Checkpoint string              `yaml:"checkpoint" doc:"Pretraining whose weights init convirt uses: latest:EXPERIMENT, the newest finished run of that experiment in this recipe's run store (output) that kept checkpoints (an error naming the store when there is none; convirt run --dry-run checks it); or a run directory, or an encoder checkpoint file; empty: the encoders this run pretrained."`
	// CheckpointSelect is CheckpointBest or CheckpointLast: which pretrained
	// weights init convirt uses.
	CheckpointSelect string "yaml:\"checkpoint_select\" default:\"best\" enum:\"best|last\" doc:\"Which weights of the pretraining (this run's, or that of the run directory `checkpoint` names) init convirt uses. best: those of the lowest validation loss, `checkpoints/best.ckpt`, kept apart from the rotated step checkpoints; a pretraining without validation data has none, and best then uses the last weights and says so on the terminal, in the log and in the tags (a run directory that validated but lacks best.ckpt is an error). last: the weights at the end of pretraining. A checkpoint file named in `checkpoint` is used as it is. The weights used, their step and validation loss are recorded in the run's tags `evaluate.NAME.checkpoint*` (docs/tracking.md).\""
	// Finetune is the fine-tuning protocol's training of the image encoder
	// (the head's own settings are the evaluator's config).
	Finetune struct {
		Epochs      int     `yaml:"epochs" default:"20" min:"1" doc:"Maximum passes over the labelled subset."`
		BatchSize   int     `yaml:"batch_size" default:"32" min:"2" max:"65536" doc:"Images per step (a last batch of one image joins the one before it)."`
		Optimizer   string  `yaml:"optimizer" default:"adam" enum:"adam|adamw|sgd" doc:"Optimiser of the image encoder."`
		LR          float64 `yaml:"lr" default:"1e-4" min:"0" max:"10" doc:"Learning rate of the image encoder, and of the head unless the evaluator's config sets its own. The schedule is train.schedule, fed the validation loss after each epoch."`
		WeightDecay float64 `yaml:"weight_decay" default:"1e-6" min:"0" max:"1" doc:"Weight decay of the image encoder, and of the head unless the evaluator's config sets its own."`
		Patience    int     "yaml:\"patience\" default:\"5\" min:\"0\" doc:\"Stop after this many epochs without a lower validation loss (0: run every epoch). The epoch with the lowest validation loss is the one tested. With a plateau `train.schedule`, the fine-tuning encoder's plateau patience is capped at this minus 2, so that its learning-rate cut comes at least one epoch before the stop (docs/evaluators.md).\""
		Augment     bool    `yaml:"augment" default:"true" doc:"Ask the dataset for augmented training images (the dataset's augment settings)."`
		ValFraction float64 `yaml:"val_fraction" default:"0.1" min:"0" max:"0.5" doc:"Stratified fraction of the training split held out for validation when the dataset has no validation split besides its test split, drawn by whole patients where the dataset names them (0: no validation, the last epoch is tested)."`
		ValSeed     int     `yaml:"val_seed" min:"0" doc:"Seed of the held-out validation rows (the same for every probe and init)."`
	} "yaml:\"finetune\" doc:\"finetune: training of the whole image encoder with the evaluator's classification head, one fresh encoder per fraction x seed (the head's own settings are the evaluator's config).\""
}

// Tracking says where run records go besides the run directory.
type Tracking struct {
	MLflow  MLflow `yaml:"mlflow" doc:"MLflow tracking through its REST API."`
	LogText bool   `yaml:"log_text" doc:"Record report texts in predictions and artefacts (off: they may hold patient information)."`
}

// Report is what report.html shows besides the run's own results. It is
// part of the recipe, so a run's report is the same when rebuilt later
// (`convirt runs report`) or when the run is repeated (`run --repeat`).
type Report struct {
	Paper bool `yaml:"paper" doc:"Show the ConVIRT paper's published figures (its Tables 1 and 3) beside this run's results: the headline curves and the retrieval table. The recipes in recipes/paper set it."`
}

// MLflow is the MLflow REST tracking target; an empty URI is off.
type MLflow struct {
	URI        string `yaml:"uri" doc:"Tracking server URI, e.g. http://localhost:5000 (empty: off)."`
	Experiment string `yaml:"experiment" doc:"MLflow experiment name (empty: the recipe's experiment)."`
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
