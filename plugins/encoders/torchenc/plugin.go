package torchenc

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Setup turns a validated plugin config into the common settings and the
// network builder.
type Setup func(cfg map[string]any) (Common, Builder, error)

// Plugin is an sdk.Encoder whose model is built by Configure. The image and
// text encoder plugins are a Plugin with their own Info and Setup.
type Plugin struct {
	info  sdk.Info
	setup Setup
	enc   *Encoder
}

// NewPlugin returns an unconfigured encoder plugin.
func NewPlugin(info sdk.Info, setup Setup) *Plugin { return &Plugin{info: info, setup: setup} }

var errNotConfigured = errors.New("encoder is not configured: call Configure first")

// Info implements sdk.Plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) { return p.info, nil }

// Configure implements sdk.Plugin: it builds the model, head and optimiser.
func (p *Plugin) Configure(_ context.Context, cfg map[string]any) error {
	common, build, err := p.setup(cfg)
	if err != nil {
		return err
	}
	if p.enc != nil {
		p.enc.Close()
	}
	if p.enc, err = New(common, build); err != nil {
		return err
	}
	// A replica of a data-parallel encoder learns its place from the host
	// through the environment (sdk.Replica).
	if r, ok, err := sdk.ReplicaFromEnv(os.Getenv); err != nil {
		return fmt.Errorf("data-parallel replica: %w", err)
	} else if ok {
		return p.enc.Replicate(r)
	}
	return nil
}

// Encoder returns the configured encoder, or nil before Configure.
func (p *Plugin) Encoder() *Encoder { return p.enc }

// Close implements sdk.Plugin.
func (p *Plugin) Close() error {
	if p.enc == nil {
		return nil
	}
	return p.enc.Close()
}

// Forward implements sdk.Encoder.
func (p *Plugin) Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	if p.enc == nil {
		return nil, errNotConfigured
	}
	return p.enc.Forward(ctx, req)
}

// Backward implements sdk.Encoder.
func (p *Plugin) Backward(ctx context.Context, g *tensor.Tensor) error {
	if p.enc == nil {
		return errNotConfigured
	}
	return p.enc.Backward(ctx, g)
}

// Step implements sdk.Encoder.
func (p *Plugin) Step(ctx context.Context, req sdk.StepRequest) error {
	if p.enc == nil {
		return errNotConfigured
	}
	return p.enc.Step(ctx, req)
}

// State implements sdk.Encoder.
func (p *Plugin) State(ctx context.Context) ([]byte, error) {
	if p.enc == nil {
		return nil, errNotConfigured
	}
	return p.enc.State(ctx)
}

// SetState implements sdk.Encoder.
func (p *Plugin) SetState(ctx context.Context, b []byte) error {
	if p.enc == nil {
		return errNotConfigured
	}
	return p.enc.SetState(ctx, b)
}
