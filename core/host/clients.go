package host

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// configure validates cfg against the plugin's schema when the spec asks to.
func (p *Process) configure(ctx context.Context, cfg map[string]any, next func(context.Context, map[string]any) error) error {
	if p.spec.CheckConfig != nil {
		if err := p.spec.CheckConfig(p.info.Schema, cfg); err != nil {
			return fmt.Errorf("plugin %q: config: %w", p.info.Name, err)
		}
	}
	return next(ctx, cfg)
}

// Encoder is a supervised encoder plugin.
type Encoder struct {
	sdk.Encoder
	proc *Process
}

// Configure validates cfg (Spec.CheckConfig) and sends it to the plugin.
func (c *Encoder) Configure(ctx context.Context, cfg map[string]any) error {
	return c.proc.configure(ctx, cfg, c.Encoder.Configure)
}

// Close closes the plugin and stops its process.
func (c *Encoder) Close() error { return c.proc.Close() }

// Kill stops the process at once.
func (c *Encoder) Kill() { c.proc.Kill() }

// Process is the supervised process.
func (c *Encoder) Process() *Process { return c.proc }

// Loss is a supervised loss plugin.
type Loss struct {
	sdk.Loss
	proc *Process
}

// Configure validates cfg (Spec.CheckConfig) and sends it to the plugin.
func (c *Loss) Configure(ctx context.Context, cfg map[string]any) error {
	return c.proc.configure(ctx, cfg, c.Loss.Configure)
}

// Close closes the plugin and stops its process.
func (c *Loss) Close() error { return c.proc.Close() }

// Kill stops the process at once.
func (c *Loss) Kill() { c.proc.Kill() }

// Process is the supervised process.
func (c *Loss) Process() *Process { return c.proc }

// Dataset is a supervised dataset plugin.
type Dataset struct {
	sdk.Dataset
	proc *Process
}

// Configure validates cfg (Spec.CheckConfig) and sends it to the plugin.
func (c *Dataset) Configure(ctx context.Context, cfg map[string]any) error {
	return c.proc.configure(ctx, cfg, c.Dataset.Configure)
}

// Close closes the plugin and stops its process.
func (c *Dataset) Close() error { return c.proc.Close() }

// Kill stops the process at once.
func (c *Dataset) Kill() { c.proc.Kill() }

// Process is the supervised process.
func (c *Dataset) Process() *Process { return c.proc }

// Evaluator is a supervised evaluator plugin.
type Evaluator struct {
	sdk.Evaluator
	proc *Process
}

// Configure validates cfg (Spec.CheckConfig) and sends it to the plugin.
func (c *Evaluator) Configure(ctx context.Context, cfg map[string]any) error {
	return c.proc.configure(ctx, cfg, c.Evaluator.Configure)
}

// Close closes the plugin and stops its process.
func (c *Evaluator) Close() error { return c.proc.Close() }

// Kill stops the process at once.
func (c *Evaluator) Kill() { c.proc.Kill() }

// Process is the supervised process.
func (c *Evaluator) Process() *Process { return c.proc }

// wrap puts the dispensed sdk client of p's kind under supervision.
func wrap(p *Process, raw any) (Client, error) {
	var c Client
	switch v := raw.(type) {
	case sdk.Encoder:
		c = &Encoder{Encoder: v, proc: p}
	case sdk.Loss:
		c = &Loss{Loss: v, proc: p}
	case sdk.Dataset:
		c = &Dataset{Dataset: v, proc: p}
	case sdk.Evaluator:
		c = &Evaluator{Evaluator: v, proc: p}
	default:
		return nil, fmt.Errorf("%s: no client for kind %s", p.label, p.info.Kind)
	}
	return c, nil
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
