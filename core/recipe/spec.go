package recipe

import (
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// Values of an evaluation's checkpoint_select: the pretrained weights of
// the lowest validation loss, or those at the end of pretraining.
const (
	CheckpointBest = "best"
	CheckpointLast = "last"
)

// CheckpointSelects are the allowed values of checkpoint_select.
var CheckpointSelects = []string{CheckpointBest, CheckpointLast}

// Inits are the image-encoder initialisations an evaluation compares:
// the run's (or a checkpoint's) ConVIRT weights, random weights, or the
// encoder plugin's ImageNet weights.
var Inits = []string{"convirt", "random", "imagenet"}

// pluginRef is the {plugin, config} section that names a plugin for one role.
func pluginRef(name, doc string, required bool) schema.Field {
	return schema.Field{Name: name, Type: schema.Object, Required: required, Doc: doc, Fields: []schema.Field{
		{Name: "plugin", Type: schema.String, Required: true,
			Doc: "Name of the plugin (built-in or installed through the registry)."},
		{Name: "config", Type: schema.Map, Default: map[string]any{},
			Doc: "The plugin's own settings, checked against the schema the plugin reports (see `convirt plugins list`)."},
	}}
}

// Schema is the schema of a recipe: every key a recipe file may contain,
// with its type, default, range and documentation. docs/recipes.md is
// generated from it.
var Schema = schema.Schema{Fields: []schema.Field{
	{Name: "base", Type: schema.Any,
		Doc: "Base recipe file(s), a path or a list of paths relative to this file, loaded first in order; this file is merged on top. Removed from the resolved recipe."},
	{Name: "name", Type: schema.String, Required: true, Pattern: `[A-Za-z0-9][A-Za-z0-9._-]*`,
		Doc: "Short name of the experiment; names the run directory and the tracking run."},
	{Name: "experiment", Type: schema.String, Default: "convirt",
		Doc: "Experiment (group of runs) the run belongs to, locally and in MLflow."},
	{Name: "seed", Type: schema.Int, Default: 0, Min: schema.Ptr(0),
		Doc: "Seed of every random choice of the run: initialisation, data order, augmentation."},
	{Name: "device", Type: schema.String, Default: "cpu", Pattern: `cpu|cuda(:[0-9]+)?`,
		Doc: "Device the model plugins run on: cpu, cuda or cuda:N."},
	{Name: "output", Type: schema.String, Default: "runs",
		Doc: "Directory under which the run directory (named by run id) is created."},
	{Name: "data", Type: schema.Object, Doc: "Data the run uses.", Fields: []schema.Field{
		{Name: "synth", Type: schema.Object, Doc: "When present, the synthetic corpus is written here first (as `convirt synth` does) unless it already exists.", Fields: []schema.Field{
			{Name: "root", Type: schema.String, Required: true, Doc: "Directory the synthetic corpus is written to."},
			{Name: "pairs", Type: schema.Int, Default: 4000, Min: schema.Ptr(16), Doc: "Number of pretraining image-report pairs."},
			{Name: "size", Type: schema.Int, Default: 64, Min: schema.Ptr(16), Max: schema.Ptr(1024), Doc: "Side of the square grayscale images, in pixels."},
			{Name: "seed", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Seed of the generator (independent of the run's seed)."},
		}},
		pluginRef("pretrain", "Dataset plugin of image-report pairs for contrastive pretraining. Without it the run only evaluates.", false),
	}},
	pluginRef("image_encoder", "Image encoder plugin (f_v and its projection head g_v).", true),
	pluginRef("text_encoder", "Text encoder plugin (f_u and g_u); required when data.pretrain is set.", false),
	pluginRef("loss", "Contrastive loss plugin; required when data.pretrain is set.", false),
	{Name: "train", Type: schema.Object, Doc: "Pretraining optimisation.", Fields: []schema.Field{
		{Name: "optimizer", Type: schema.String, Default: "adam", Enum: []string{"adam", "adamw", "sgd"}, Doc: "Optimiser of both encoders."},
		{Name: "lr", Type: schema.Float, Default: 1e-4, Min: schema.Ptr(0), Max: schema.Ptr(10), Doc: "Learning rate."},
		{Name: "weight_decay", Type: schema.Float, Default: 1e-6, Min: schema.Ptr(0), Max: schema.Ptr(1), Doc: "Weight decay (L2 for adam and sgd, decoupled for adamw)."},
		{Name: "momentum", Type: schema.Float, Default: 0.9, Min: schema.Ptr(0), Max: schema.Ptr(1), Doc: "Momentum (sgd only)."},
		{Name: "batch_size", Type: schema.Int, Default: 32, Min: schema.Ptr(2), Max: schema.Ptr(65536), Doc: "Image-text pairs per contrastive batch (the negatives of each pair are the rest of the batch)."},
		{Name: "epochs", Type: schema.Int, Default: 100, Min: schema.Ptr(0), Doc: "Maximum passes over the pretraining set (0: no limit)."},
		{Name: "max_steps", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Maximum optimisation steps (0: no limit). Training stops at the first limit reached."},
		{Name: "max_minutes", Type: schema.Float, Default: 0.0, Min: schema.Ptr(0), Doc: "Maximum wall-clock minutes of pretraining (0: no limit)."},
		{Name: "schedule", Type: schema.Object, Doc: "Learning-rate schedule.", Fields: []schema.Field{
			{Name: "kind", Type: schema.String, Default: "plateau", Enum: []string{"plateau", "cosine", "none"}, Doc: "plateau: multiply by factor when the validation loss has not improved for patience epochs; cosine: cosine decay to 0 over the step budget; none: constant."},
			{Name: "factor", Type: schema.Float, Default: 0.5, Min: schema.Ptr(0.01), Max: schema.Ptr(1), Doc: "Multiplier applied on a plateau."},
			{Name: "patience", Type: schema.Int, Default: 5, Min: schema.Ptr(0), Doc: "Epochs without improvement before a plateau reduction."},
			{Name: "warmup_steps", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Steps of linear warm-up from 0 to lr."},
		}},
		{Name: "early_stopping", Type: schema.Object, Doc: "Stop when the validation loss stops improving.", Fields: []schema.Field{
			{Name: "patience", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Epochs without improvement before stopping (0: off)."},
			{Name: "min_delta", Type: schema.Float, Default: 0.0, Min: schema.Ptr(0), Doc: "Smallest decrease of the validation loss that counts as improvement."},
		}},
		{Name: "checkpoint_every", Type: schema.Int, Default: 1000, Min: schema.Ptr(0), Doc: "Steps between checkpoints (0: only at the end)."},
		{Name: "grad_cache", Type: schema.Object, Doc: "GradCache: embed the whole batch without a graph, then recompute in chunks on backward.", Fields: []schema.Field{
			{Name: "chunk", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Pairs per recomputation chunk (0: off, the batch is one graph)."},
		}},
		{Name: "text_sampling", Type: schema.String, Default: "sentence", Enum: []string{"sentence", "report"}, Doc: "sentence: one sentence sampled from Findings + Impression per step (the paper); report: the whole text."},
		{Name: "val_batches", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Batches of the validation split scored after each epoch (0: all of it)."},
		{Name: "max_restarts", Type: schema.Int, Default: 3, Min: schema.Ptr(0), Max: schema.Ptr(100), Doc: "Times the plugins are restarted after a plugin process dies, each time resuming from the newest checkpoint (0: fail at once)."},
		{Name: "prefetch", Type: schema.Int, Default: 2, Min: schema.Ptr(0), Max: schema.Ptr(64), Doc: "Batches the host requests ahead from the dataset plugin."},
		{Name: "length_buckets", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Max: schema.Ptr(1024), Doc: "Sentence-length bucketing: each window of this many batches of the shuffled epoch is regrouped into batches of texts of similar length, so the text encoder pads less (0 or 1: off, the paper's random batches). Every pair is still seen once per epoch; a batch's negatives are then of similar length."},
		{Name: "sequential_encoders", Type: schema.Bool, Default: false, Doc: "Run the image and text encoders one after the other (forward, backward, optimiser step) instead of at the same time. On a CPU machine set it and leave each encoder's threads at the default (all cores): that beats two encoders dividing the cores (docs/performance.md). Results are the same either way."},
	}},
	{Name: "evaluate", Type: schema.List, Elem: schema.Object, Doc: "Evaluations run after pretraining (or on their own); each entry is run for every fraction x init x seed.", Fields: []schema.Field{
		{Name: "name", Type: schema.String, Required: true, Pattern: `[A-Za-z0-9][A-Za-z0-9._-]*`, Doc: "Unique name of the evaluation; names its results."},
		pluginRef("evaluator", "Evaluator plugin running the protocol.", true),
		pluginRef("dataset", "Dataset plugin of the labelled (or retrieval) data.", true),
		{Name: "protocol", Type: schema.String, Required: true, Enum: sdk.RecipeProtocols, Doc: "linear: frozen encoder, one linear layer; finetune: whole encoder trained; retrieval: image-image and text-image retrieval; zeroshot: classification by text prompts."},
		{Name: "fractions", Type: schema.List, Elem: schema.Float, Default: []float64{0.01, 0.1, 1.0}, Min: schema.Ptr(1e-4), Max: schema.Ptr(1), Doc: "Fractions of the labelled training split used, each an independent random subset per seed."},
		{Name: "seeds", Type: schema.Any, Default: 5, Doc: "Random subsets per fraction: a count n (seeds 0..n-1) or an explicit list of seeds."},
		{Name: "inits", Type: schema.List, Elem: schema.String, Enum: Inits, Default: []string{"convirt"}, Doc: "Image-encoder initialisations compared."},
		{Name: "prompts", Type: schema.Map, Doc: "zeroshot: class name -> list of prompt texts; a class's prompts are embedded by the text encoder and averaged."},
		{Name: "checkpoint", Type: schema.String, Default: "", Doc: "Pretraining run directory (or encoder checkpoint) whose weights init convirt uses; empty: the encoders this run pretrained."},
		{Name: "checkpoint_select", Type: schema.String, Default: CheckpointBest, Enum: CheckpointSelects, Doc: "Which weights of the pretraining (this run's, or that of the run directory `checkpoint` names) init convirt uses. best: those of the lowest validation loss, `checkpoints/best.ckpt`, kept apart from the rotated step checkpoints; a pretraining without validation data has none, and best then uses the last weights and says so on the terminal, in the log and in the tags (a run directory that validated but lacks best.ckpt is an error). last: the weights at the end of pretraining. A checkpoint file named in `checkpoint` is used as it is. The weights used, their step and validation loss are recorded in the run's tags `evaluate.NAME.checkpoint*` (docs/tracking.md)."},
		{Name: "finetune", Type: schema.Object, Doc: "finetune: training of the whole image encoder with the evaluator's classification head, one fresh encoder per fraction x seed (the head's own settings are the evaluator's config).", Fields: []schema.Field{
			{Name: "epochs", Type: schema.Int, Default: 20, Min: schema.Ptr(1), Doc: "Maximum passes over the labelled subset."},
			{Name: "batch_size", Type: schema.Int, Default: 32, Min: schema.Ptr(2), Max: schema.Ptr(65536), Doc: "Images per step (a last batch of one image joins the one before it)."},
			{Name: "optimizer", Type: schema.String, Default: "adam", Enum: []string{"adam", "adamw", "sgd"}, Doc: "Optimiser of the image encoder."},
			{Name: "lr", Type: schema.Float, Default: 1e-4, Min: schema.Ptr(0), Max: schema.Ptr(10), Doc: "Learning rate of the image encoder, and of the head unless the evaluator's config sets its own. The schedule is train.schedule, fed the validation loss after each epoch."},
			{Name: "weight_decay", Type: schema.Float, Default: 1e-6, Min: schema.Ptr(0), Max: schema.Ptr(1), Doc: "Weight decay of the image encoder, and of the head unless the evaluator's config sets its own."},
			{Name: "patience", Type: schema.Int, Default: 5, Min: schema.Ptr(0), Doc: "Stop after this many epochs without a lower validation loss (0: run every epoch). The epoch with the lowest validation loss is the one tested. With a plateau `train.schedule`, the fine-tuning encoder's plateau patience is capped at this minus 2, so that its learning-rate cut comes at least one epoch before the stop (docs/evaluators.md)."},
			{Name: "augment", Type: schema.Bool, Default: true, Doc: "Ask the dataset for augmented training images (the dataset's augment settings)."},
			{Name: "val_fraction", Type: schema.Float, Default: 0.1, Min: schema.Ptr(0), Max: schema.Ptr(0.5), Doc: "Stratified fraction of the training split held out for validation when the dataset has no validation split besides its test split, drawn by whole patients where the dataset names them (0: no validation, the last epoch is tested)."},
			{Name: "val_seed", Type: schema.Int, Default: 0, Min: schema.Ptr(0), Doc: "Seed of the held-out validation rows (the same for every probe and init)."},
		}},
	}},
	{Name: "sweep", Type: schema.Map, Doc: "Key path -> list of alternatives (`train.lr: [1e-4, 1e-3]`, `evaluate.0.fractions: [[0.01], [1.0]]`). The run expands into one child run per combination (cartesian product)."},
	{Name: "tracking", Type: schema.Object, Doc: "Where run records go besides the run directory.", Fields: []schema.Field{
		{Name: "mlflow", Type: schema.Object, Doc: "MLflow tracking through its REST API.", Fields: []schema.Field{
			{Name: "uri", Type: schema.String, Default: "", Doc: "Tracking server URI, e.g. http://localhost:5000 (empty: off)."},
			{Name: "experiment", Type: schema.String, Default: "", Doc: "MLflow experiment name (empty: the recipe's experiment)."},
		}},
		{Name: "log_text", Type: schema.Bool, Default: false, Doc: "Record report texts in predictions and artefacts (off: they may hold patient information)."},
	}},
}}
