package host

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// client is what supervision adds to a dispensed plugin of kind T, written
// once for the four kinds: Configure checks the config against the plugin's
// schema first (Spec.CheckConfig), Close and Kill stop the process, and
// Process returns it.
//
// Each kind's client (Encoder, Loss, Dataset, Evaluator) embeds a client[T]
// and, one level deeper, the sdk interface itself (Go cannot embed a type
// parameter): the shallower Configure and Close of client win over the
// plugin's, and every other call of the kind is the plugin's own.
type client[T sdk.Plugin] struct {
	plugin T
	proc   *Process
}

// Configure validates cfg (Spec.CheckConfig) and sends it to the plugin.
func (c client[T]) Configure(ctx context.Context, cfg map[string]any) error {
	if c.proc.spec.CheckConfig != nil {
		if err := c.proc.spec.CheckConfig(c.proc.info.Schema, cfg); err != nil {
			return fmt.Errorf("plugin %q: config: %w", c.proc.info.Name, err)
		}
	}
	return c.plugin.Configure(ctx, cfg)
}

// Close closes the plugin and stops its process.
func (c client[T]) Close() error { return c.proc.Close() }

// Kill stops the process at once.
func (c client[T]) Kill() { c.proc.Kill() }

// Process is the supervised process.
func (c client[T]) Process() *Process { return c.proc }

// Exited is closed once the plugin's process has exited (train.Supervised:
// a replica group waits on it to tell a replica's death from the failed
// collectives of its peers).
func (c client[T]) Exited() <-chan struct{} { return c.proc.Done() }

// ExitErr is the *ExitError of a process that died on its own, nil while
// it runs or after Close or Kill (train.Supervised).
func (c client[T]) ExitErr() error { return c.proc.Err() }

// Encoder is a supervised encoder plugin.
type Encoder struct {
	client[sdk.Encoder]
	encoderCalls
}

// encoderCalls holds the sdk.Encoder one level below Encoder's client.
type encoderCalls struct{ sdk.Encoder }

// LearningRate is the learning rate the plugin reported with its last
// Step (sdk.LearningRater); false when it reports none.
func (e *Encoder) LearningRate() (float64, bool) {
	if r, ok := e.Encoder.(sdk.LearningRater); ok {
		return r.LearningRate()
	}
	return 0, false
}

// Loss is a supervised loss plugin.
type Loss struct {
	client[sdk.Loss]
	lossCalls
}

// lossCalls holds the sdk.Loss one level below Loss's client.
type lossCalls struct{ sdk.Loss }

// Dataset is a supervised dataset plugin.
type Dataset struct {
	client[sdk.Dataset]
	datasetCalls
}

// datasetCalls holds the sdk.Dataset one level below Dataset's client.
type datasetCalls struct{ sdk.Dataset }

// Evaluator is a supervised evaluator plugin.
type Evaluator struct {
	client[sdk.Evaluator]
	evaluatorCalls
}

// evaluatorCalls holds the sdk.Evaluator one level below Evaluator's client.
type evaluatorCalls struct{ sdk.Evaluator }

// wrap puts the dispensed sdk client of p's kind under supervision.
func wrap(p *Process, raw any) (Client, error) {
	switch v := raw.(type) {
	case sdk.Encoder:
		return &Encoder{client[sdk.Encoder]{v, p}, encoderCalls{v}}, nil
	case sdk.Loss:
		return &Loss{client[sdk.Loss]{v, p}, lossCalls{v}}, nil
	case sdk.Dataset:
		return &Dataset{client[sdk.Dataset]{v, p}, datasetCalls{v}}, nil
	case sdk.Evaluator:
		return &Evaluator{client[sdk.Evaluator]{v, p}, evaluatorCalls{v}}, nil
	}
	return nil, fmt.Errorf("%s: no client for kind %s", p.label, p.info.Kind)
}

// StartEncoder starts an encoder plugin (spec.Kind is set for you).
func StartEncoder(ctx context.Context, spec Spec) (*Encoder, error) {
	return startAs[*Encoder](ctx, spec, sdk.KindEncoder)
}

// StartLoss starts a loss plugin.
func StartLoss(ctx context.Context, spec Spec) (*Loss, error) {
	return startAs[*Loss](ctx, spec, sdk.KindLoss)
}

// StartDataset starts a dataset plugin.
func StartDataset(ctx context.Context, spec Spec) (*Dataset, error) {
	return startAs[*Dataset](ctx, spec, sdk.KindDataset)
}

// StartEvaluator starts an evaluator plugin.
func StartEvaluator(ctx context.Context, spec Spec) (*Evaluator, error) {
	return startAs[*Evaluator](ctx, spec, sdk.KindEvaluator)
}

// startAs starts spec as kind and returns its typed client.
func startAs[T Client](ctx context.Context, spec Spec, kind sdk.Kind) (T, error) {
	var zero T
	spec.Kind = kind
	c, err := Start(ctx, spec)
	if err != nil {
		return zero, err
	}
	t, ok := c.(T)
	if !ok {
		c.Kill()
		return zero, fmt.Errorf("%s: dispensed %T for kind %s", spec.label(), c, kind)
	}
	return t, nil
}

// Each kind's client is a Client and its kind's sdk interface; a Configure
// or Close made ambiguous by the embedding would fail here.
var (
	_ interface {
		Client
		sdk.Encoder
	} = (*Encoder)(nil)
	_ interface {
		Client
		sdk.Loss
	} = (*Loss)(nil)
	_ interface {
		Client
		sdk.Dataset
	} = (*Dataset)(nil)
	_ interface {
		Client
		sdk.Evaluator
	} = (*Evaluator)(nil)
)
