// Package sdk is what a convirt plugin author imports: the four plugin kinds
// as small Go interfaces (Encoder, Loss, Dataset, Evaluator), the values they
// exchange, and Serve, which turns an implementation into a plugin process.
// The host side (core/host) uses the gRPC clients in this package, which
// implement the same interfaces across the process boundary.
//
// The wire protocol is specified in internal/pb/plugin.proto; plugin authors
// never see it. A minimal plugin:
//
//	func main() {
//		if err := sdk.Serve(sdk.ServeConfig{Loss: &myLoss{}}); err != nil {
//			log.Fatal(err)
//		}
//	}
package sdk

import (
	"context"

	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the version of the wire protocol this SDK speaks. The
// host refuses a plugin that speaks another one.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake every convirt plugin and host share.
// The magic cookie only tells a plugin binary that a convirt host started it.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "CONVIRT_PLUGIN",
	MagicCookieValue: "convirt-plugin-v1",
}

// Kind is a plugin kind.
type Kind string

// The plugin kinds.
const (
	KindEncoder   Kind = "encoder"
	KindLoss      Kind = "loss"
	KindDataset   Kind = "dataset"
	KindEvaluator Kind = "evaluator"
)

// Kinds lists the plugin kinds in a fixed order.
var Kinds = []Kind{KindEncoder, KindLoss, KindDataset, KindEvaluator}

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindEncoder, KindLoss, KindDataset, KindEvaluator:
		return true
	}
	return false
}

// Info identifies a plugin. Serve fills in Kind and ProtocolVersion, so an
// implementation only sets Name, Version, Description and Schema.
type Info struct {
	Name            string        `json:"name"`
	Kind            Kind          `json:"kind"`
	Version         string        `json:"version"`
	ProtocolVersion int           `json:"protocol_version"`
	Description     string        `json:"description,omitempty"`
	Schema          schema.Schema `json:"schema"`
	// Needs is what a loss consumes beyond the pooled embeddings (nil: v
	// and u only); a loss that sets it implements LocalLoss.
	Needs *LossNeeds `json:"needs,omitempty"`
}

// Plugin is what every kind implements.
type Plugin interface {
	// Info identifies the plugin and describes its config.
	Info(ctx context.Context) (Info, error)
	// Configure builds the plugin's state from cfg, which the host has
	// already validated against Info's schema (see DecodeConfig).
	Configure(ctx context.Context, cfg map[string]any) error
	// Close releases the plugin's resources.
	Close() error
}

// Stateful is a plugin whose full state can be saved and restored.
type Stateful interface {
	// State returns the full state: weights, optimiser, schedule, RNG.
	State(ctx context.Context) ([]byte, error)
	// SetState restores a state State returned.
	SetState(ctx context.Context, state []byte) error
}

// Encoder owns a model: its weights, optimiser, device and mode.
type Encoder interface {
	Plugin
	Stateful
	// Forward encodes a batch; with Graph set it keeps the autograd graph
	// for a later Backward.
	Forward(ctx context.Context, req ForwardRequest) (*tensor.Tensor, error)
	// Backward back-propagates grad, the gradient of the loss with respect
	// to the output of the last Graph forward, accumulating gradients.
	Backward(ctx context.Context, grad *tensor.Tensor) error
	// Step applies the optimiser and zeroes the gradients.
	Step(ctx context.Context, req StepRequest) error
}

// LearningRater is an Encoder that reports the learning rate its last
// Step applied (its schedule's, at that step), for the host's train/lr
// metric. It is optional: an encoder without it trains all the same, and
// the host records no rate for it.
type LearningRater interface {
	LearningRate() (lr float64, ok bool)
}

// Loss computes the training objective of two embedding batches.
type Loss interface {
	Plugin
	Stateful
	// Compute returns the loss and its gradients with respect to v and u.
	Compute(ctx context.Context, v, u *tensor.Tensor) (LossResult, error)
	// Step updates the loss's own parameters (e.g. a learnable
	// temperature) from the gradients of the last Compute.
	Step(ctx context.Context) error
}

// NamedEncoder is an Encoder that also serves named outputs (the pooled
// projection and its local features: OutputSpatial, OutputTokens, ...) for
// losses that declare LossNeeds. Encoders without it serve Forward only.
type NamedEncoder interface {
	// ForwardNamed returns the outputs req.Outputs names, one forward pass
	// for all; with req.Graph it keeps the graph for a BackwardNamed.
	ForwardNamed(ctx context.Context, req ForwardRequest) (map[string]*tensor.Tensor, error)
	// BackwardNamed back-propagates the gradient of each named output of
	// the oldest pending Graph ForwardNamed (outputs without an entry get
	// none), accumulating gradients.
	BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error
}

// LocalLoss is a Loss that consumes named outputs: its Info declares
// LossNeeds, and the host calls ComputeLocal instead of Compute.
type LocalLoss interface {
	// ComputeLocal returns the loss and, in ImageGrads and TextGrads, its
	// gradient with respect to each named output given that has one.
	ComputeLocal(ctx context.Context, in LocalInputs) (LossResult, error)
}

// Dataset serves samples by index, so the host owns the data order.
type Dataset interface {
	Plugin
	// Splits lists the split names.
	Splits(ctx context.Context) ([]string, error)
	// Describe describes one split.
	Describe(ctx context.Context, split string) (SplitInfo, error)
	// Batch reads the samples at req.Indices of req.Split.
	Batch(ctx context.Context, req BatchRequest) (*Batch, error)
}

// Evaluator runs evaluation protocols on features; during fine-tuning it
// plays the loss through Grad.
type Evaluator interface {
	Plugin
	// Evaluate runs one protocol.
	Evaluate(ctx context.Context, req EvalRequest) (EvalResult, error)
	// Grad returns the loss of the evaluator's head on features and labels
	// and its gradient with respect to features.
	Grad(ctx context.Context, features, labels *tensor.Tensor) (float64, *tensor.Tensor, error)
}
