package sdk

import "github.com/convirt/convirt/plugins/sdk/tensor"

// Batch is a set of samples. Any part may be empty.
type Batch struct {
	IDs        []string
	Images     *tensor.Tensor // (N,C,H,W) float32, or nil
	Texts      []string       // raw text; tokenising belongs to the text encoder
	Labels     *tensor.Tensor // (N,K) float32, or nil
	LabelNames []string       // the K label columns
	// Groups names each sample's group, the unit a validation holdout must
	// not split (the patient): nil when the dataset knows none (every sample
	// a group of its own, as from a plugin that predates the field), else
	// one per ID, where "" makes that sample a group of its own.
	Groups []string
}

// Encoder outputs. Projection and Features are pooled ([N,D]); the others
// are local, served as named outputs (ForwardRequest.Outputs) by encoders
// that implement NamedEncoder, for losses that declare LossNeeds.
const (
	OutputProjection = "projection"
	OutputFeatures   = "features"
	// OutputSpatial is an image encoder's last feature map before pooling,
	// [N,C,H,W].
	OutputSpatial = "spatial"
	// OutputConv4 is ResNet's third stage's map ("conv4" in GLoRIA's
	// terms), [N,C,H,W].
	OutputConv4 = "conv4"
	// OutputTokens is a text encoder's per-token states, [N,T,D].
	OutputTokens = "tokens"
	// OutputTokenMask marks OutputTokens' real tokens (1) and padding (0),
	// [N,T] float32. It carries no gradient.
	OutputTokenMask = "token_mask"
)

// RaggedOutput reports whether the named output's second axis may differ in
// length from one batch to the next (a text encoder pads each batch to its
// own longest text): data-parallel replicas pad such outputs with zeros to
// the longest among them before they are put together, which for
// OutputTokenMask marks the padding as no token, and cut the gradients
// back to each replica's own length.
func RaggedOutput(name string) bool {
	return name == OutputTokens || name == OutputTokenMask
}

// ForwardRequest asks an encoder for the embeddings of a batch.
type ForwardRequest struct {
	Batch  *Batch
	Train  bool   // training mode (dropout, batch-norm statistics)
	Graph  bool   // keep the autograd graph for a later Backward
	Output string // OutputProjection (default when empty) or OutputFeatures
	// Outputs, when not empty, asks a NamedEncoder for these named outputs
	// (ForwardNamed); Output is then ignored.
	Outputs []string
}

// StepRequest is an optimiser step.
type StepRequest struct {
	ValLoss *float64 // validation loss, for plateau schedules; nil when unknown
}

// LossResult is a loss value with its gradients: GradV and GradU for
// Compute, ImageGrads and TextGrads (one per named output that has a
// gradient) for LocalLoss.ComputeLocal.
type LossResult struct {
	Loss       float64
	GradV      *tensor.Tensor
	GradU      *tensor.Tensor
	Metrics    map[string]float64
	ImageGrads map[string]*tensor.Tensor
	TextGrads  map[string]*tensor.Tensor
	// Chance is the loss an untrained model has on this batch: ln N for
	// InfoNCE over N pairs, the constant prediction's loss for a binary
	// one, ln V for next-token prediction over V words. The host warns when
	// the training loss is still there after a warm-up (train.ChanceRule);
	// 0 means the loss does not say, and it is not checked.
	Chance float64
}

// LossNeeds is what a loss consumes beyond the two pooled embeddings,
// declared in its Info. A loss with none gets Compute(v, u); a loss with
// some gets LocalLoss.ComputeLocal with the named outputs it lists.
type LossNeeds struct {
	// Image and Text are the named outputs (Output* constants) the loss
	// needs of the image and text encoder. An empty Text means the run
	// needs no text encoder (a captioning loss that reads Texts).
	Image []string `json:"image,omitempty"`
	Text  []string `json:"text,omitempty"`
	// Texts asks for the batch's raw texts (a loss that tokenises the
	// reports itself, as a captioning decoder does).
	Texts bool `json:"texts,omitempty"`
}

// LocalInputs are what a LossNeeds loss gets for one batch: the named
// outputs it declared, of each encoder, and the raw texts if it asked.
type LocalInputs struct {
	Image map[string]*tensor.Tensor
	Text  map[string]*tensor.Tensor
	Texts []string
}

// Dataset tasks.
const (
	TaskPaired     = "paired"
	TaskBinary     = "binary"
	TaskMultilabel = "multilabel"
	TaskMulticlass = "multiclass"
)

// SplitInfo describes a dataset split.
type SplitInfo struct {
	Name       string
	Len        int
	LabelNames []string
	Task       string // one of the Task constants
}

// BatchRequest asks a dataset for samples by index.
type BatchRequest struct {
	Split   string
	Indices []int
	Augment bool
	Seed    int64 // with Epoch and the index, fixes the augmentation
	Epoch   int
}

// FeatureSet is frozen features with labels, one per evaluation split.
type FeatureSet struct {
	Features   *tensor.Tensor // (N,D)
	Labels     *tensor.Tensor // (N,K)
	IDs        []string
	LabelNames []string
	// Groups are the rows' groups (patients) as the dataset's batches
	// carried them (Batch.Groups): nil or one per row. Rows held out of a
	// split for validation take groups whole.
	Groups []string
}

// EvalRequest runs one evaluation protocol.
type EvalRequest struct {
	Protocol string                 // e.g. "linear-probe", "retrieval"
	Splits   map[string]*FeatureSet // "train", "val", "test"
	Params   map[string]any         // protocol parameters
}

// EvalResult is what an evaluation produced: flat metrics, metrics
// aggregated over seeds (Scores), per-probe predictions and curves.
type EvalResult struct {
	Metrics     map[string]float64
	Scores      []Score
	Predictions []Predictions
	Curves      []Curve
}

// Score is one metric aggregated over the seeds of an evaluation: the
// per-seed values, their mean and sample standard deviation, and a 95%
// bootstrap interval for the mean (docs/results.md says how it is drawn).
type Score struct {
	Metric     string // "auc", "auc:Edema", "accuracy", "p@10", ...
	Mean, Std  float64
	CILo, CIHi float64
	Seeds      []uint64
	Values     []float64 // per seed, in the order of Seeds
}

// Predictions are one probe's per-sample scores.
type Predictions struct {
	Name    string // which probe, e.g. "seed-3"
	IDs     []string
	Scores  *tensor.Tensor // (N,K)
	Targets *tensor.Tensor // (N,K), may be nil
	Names   []string       // the K columns
}

// Curve is a named x/y series (ROC, precision-recall, learning curve).
type Curve struct {
	Name   string
	XLabel string
	YLabel string
	X, Y   []float64
}
