// Package lossplugin serves a loss as an sdk.Loss plugin. It is the shell
// every built-in loss (convirt, clip, contrastive-binary, caption-lstm and
// caption-transformer, gloria) shares: Info, the config decoded onto
// the loss's defaults, and calls refused before Configure. A loss package
// writes its config, its Compute and a Spec; with plugins/losses/infonce
// this is the short route for a new contrastive loss (docs/plugins.md).
package lossplugin

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Loss is a configured loss, as its plugin serves it.
type Loss interface {
	// Compute returns the loss and its gradients for the pair (v, u).
	Compute(v, u *tensor.Tensor) (sdk.LossResult, error)
	// Step applies the gradients of the last Compute to the loss's own
	// parameters.
	Step() error
	// State and SetState save and restore those parameters.
	State() ([]byte, error)
	SetState(b []byte) error
}

// LocalLoss is a configured Loss that consumes named outputs (local
// features, token states, texts): the plugin reports Needs in its Info and
// the host calls ComputeLocal instead of Compute (sdk.LocalLoss).
type LocalLoss interface {
	Loss
	// Needs is what the configured loss consumes.
	Needs() *sdk.LossNeeds
	// ComputeLocal returns the loss and the gradient of each named output
	// given that has one.
	ComputeLocal(in sdk.LocalInputs) (sdk.LossResult, error)
}

// Stateless is embedded by a Loss without parameters: Step does nothing and
// the state is empty.
type Stateless struct{}

// Step does nothing.
func (Stateless) Step() error { return nil }

// State is empty.
func (Stateless) State() ([]byte, error) { return []byte{}, nil }

// SetState accepts any state.
func (Stateless) SetState([]byte) error { return nil }

// Info is the sdk.Info of a loss plugin served by this shell: name,
// version, description and config schema, of kind loss and this SDK's
// protocol version.
func Info(name, version, description string, configSchema schema.Schema) sdk.Info {
	return sdk.Info{Name: name, Kind: sdk.KindLoss, Version: version, ProtocolVersion: sdk.ProtocolVersion,
		Description: description, Schema: configSchema}
}

// Built is a loss constructor's result as a Spec's New returns it: the
// loss as a Loss, or nil (never a typed nil) with the constructor's error.
// A Spec's New is then one line: return lossplugin.Built(New(cfg)).
func Built[L Loss](l L, err error) (Loss, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Spec describes one loss plugin with config type C. Its zero value is used
// (a Spec is a type, not a value), so that a Plugin's zero value is ready
// for Configure.
type Spec[C any] interface {
	// Info describes the plugin and its config schema.
	Info() sdk.Info
	// Defaults is the config before the recipe's keys apply.
	Defaults() C
	// New builds the loss from a decoded config.
	New(cfg C) (Loss, error)
}

// Register registers the loss S describes as a built-in plugin under its
// name (builtin.RegisterLoss), served by a Plugin.
func Register[C any, S Spec[C]]() {
	var s S
	builtin.RegisterLoss(s.Info().Name, func() sdk.Loss { return &Plugin[C, S]{} })
}

// Plugin serves the loss S describes as an sdk.Loss. The zero value is an
// unconfigured plugin.
type Plugin[C any, S Spec[C]] struct{ loss Loss }

// Info implements sdk.Plugin. A LocalLoss's needs may depend on its
// config: once configured, Info reports the configured loss's.
func (p *Plugin[C, S]) Info(context.Context) (sdk.Info, error) {
	var s S
	info := s.Info()
	if ll, ok := p.loss.(LocalLoss); ok {
		info.Needs = ll.Needs()
	}
	return info, nil
}

// Configure implements sdk.Plugin: raw is decoded onto the defaults and
// the loss built from the result.
func (p *Plugin[C, S]) Configure(_ context.Context, raw map[string]any) error {
	var s S
	cfg := s.Defaults()
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	l, err := s.New(cfg)
	if err != nil {
		return err
	}
	p.loss = l
	return nil
}

// Close implements sdk.Plugin.
func (p *Plugin[C, S]) Close() error { return nil }

// configured returns the loss, or an error naming the plugin before
// Configure.
func (p *Plugin[C, S]) configured() (Loss, error) {
	if p.loss == nil {
		var s S
		return nil, fmt.Errorf("%s loss: not configured", s.Info().Name)
	}
	return p.loss, nil
}

// Compute implements sdk.Loss.
func (p *Plugin[C, S]) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	l, err := p.configured()
	if err != nil {
		return sdk.LossResult{}, err
	}
	return l.Compute(v, u)
}

// ComputeLocal implements sdk.LocalLoss for a LocalLoss; any other loss
// takes v and u only and refuses.
func (p *Plugin[C, S]) ComputeLocal(_ context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	l, err := p.configured()
	if err != nil {
		return sdk.LossResult{}, err
	}
	ll, ok := l.(LocalLoss)
	if !ok {
		var s S
		return sdk.LossResult{}, fmt.Errorf("%s loss: takes the pooled embeddings only (it declares no needs)", s.Info().Name)
	}
	return ll.ComputeLocal(in)
}

// Step implements sdk.Loss.
func (p *Plugin[C, S]) Step(context.Context) error {
	l, err := p.configured()
	if err != nil {
		return err
	}
	return l.Step()
}

// State implements sdk.Stateful.
func (p *Plugin[C, S]) State(context.Context) ([]byte, error) {
	l, err := p.configured()
	if err != nil {
		return nil, err
	}
	return l.State()
}

// SetState implements sdk.Stateful.
func (p *Plugin[C, S]) SetState(_ context.Context, b []byte) error {
	l, err := p.configured()
	if err != nil {
		return err
	}
	return l.SetState(b)
}
