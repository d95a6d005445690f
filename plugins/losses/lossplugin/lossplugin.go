// Package lossplugin serves a loss as an sdk.Loss plugin. It is the shell
// every built-in loss (convirt, clip, contrastive-binary, caption-lstm and
// caption-transformer, gloria) shares: Info, the config decoded onto
// the loss's defaults, and calls refused before Configure. A loss package
// writes its config, its Compute and a Spec value; with plugins/losses/infonce
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

// Spec is one loss plugin, stated as a value: what differs between the
// built-in losses. C is its config type.
type Spec[C any] struct {
	// Name is the name the plugin is registered under.
	Name string
	// Version is the plugin's version.
	Version string
	// Description is the one line the plugin's Info gives.
	Description string
	// Schema is the config's schema.
	Schema schema.Schema
	// Defaults is the config before the recipe's keys apply.
	Defaults func() C
	// New builds the loss from a decoded config (Builds adapts a
	// constructor that returns its own loss type).
	New func(cfg C) (Loss, error)
	// Needs, for a LocalLoss, is what a config's loss consumes: the
	// plugin's Info reports the defaults' needs before Configure (and the
	// configured loss's after). Nil for a loss of the pooled embeddings.
	Needs func(cfg C) *sdk.LossNeeds
}

// Info is the sdk.Info of the plugin before Configure: name, version,
// description, config schema and the defaults' needs, of kind loss and
// this SDK's protocol version.
func (s Spec[C]) Info() sdk.Info {
	info := sdk.Info{Name: s.Name, Kind: sdk.KindLoss, Version: s.Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: s.Description, Schema: s.Schema}
	if s.Needs != nil {
		info.Needs = s.Needs(s.Defaults())
	}
	return info
}

// Plugin returns an unconfigured plugin serving the loss s describes.
func (s Spec[C]) Plugin() *Plugin[C] { return &Plugin[C]{spec: s} }

// Register registers the loss s describes as a built-in plugin under its
// name (builtin.RegisterLoss), served by a Plugin, and returns s.
func Register[C any](s Spec[C]) Spec[C] {
	builtin.RegisterLoss(s.Name, func() sdk.Loss { return s.Plugin() })
	return s
}

// Builds adapts a loss constructor to a Spec's New: its loss as a Loss, or
// nil (never a typed nil) with the constructor's error.
func Builds[C any, L Loss](newLoss func(C) (L, error)) func(C) (Loss, error) {
	return func(cfg C) (Loss, error) {
		l, err := newLoss(cfg)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

// Plugin serves the loss its Spec describes as an sdk.Loss (Spec.Plugin).
type Plugin[C any] struct {
	spec Spec[C]
	loss Loss
}

// Info implements sdk.Plugin. A LocalLoss's needs may depend on its
// config: once configured, Info reports the configured loss's.
func (p *Plugin[C]) Info(context.Context) (sdk.Info, error) {
	info := p.spec.Info()
	if ll, ok := p.loss.(LocalLoss); ok {
		info.Needs = ll.Needs()
	}
	return info, nil
}

// Configure implements sdk.Plugin: raw is decoded onto the defaults and
// the loss built from the result.
func (p *Plugin[C]) Configure(_ context.Context, raw map[string]any) error {
	cfg := p.spec.Defaults()
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	l, err := p.spec.New(cfg)
	if err != nil {
		return err
	}
	p.loss = l
	return nil
}

// Close implements sdk.Plugin.
func (p *Plugin[C]) Close() error { return nil }

// configured returns the loss, or an error naming the plugin before
// Configure.
func (p *Plugin[C]) configured() (Loss, error) {
	if p.loss == nil {
		return nil, fmt.Errorf("%s loss: not configured", p.spec.Name)
	}
	return p.loss, nil
}

// Compute implements sdk.Loss.
func (p *Plugin[C]) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	l, err := p.configured()
	if err != nil {
		return sdk.LossResult{}, err
	}
	return l.Compute(v, u)
}

// ComputeLocal implements sdk.LocalLoss for a LocalLoss; any other loss
// takes v and u only and refuses.
func (p *Plugin[C]) ComputeLocal(_ context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	l, err := p.configured()
	if err != nil {
		return sdk.LossResult{}, err
	}
	ll, ok := l.(LocalLoss)
	if !ok {
		return sdk.LossResult{}, fmt.Errorf("%s loss: takes the pooled embeddings only (it declares no needs)", p.spec.Name)
	}
	return ll.ComputeLocal(in)
}

// Step implements sdk.Loss.
func (p *Plugin[C]) Step(context.Context) error {
	l, err := p.configured()
	if err != nil {
		return err
	}
	return l.Step()
}

// State implements sdk.Stateful.
func (p *Plugin[C]) State(context.Context) ([]byte, error) {
	l, err := p.configured()
	if err != nil {
		return nil, err
	}
	return l.State()
}

// SetState implements sdk.Stateful.
func (p *Plugin[C]) SetState(_ context.Context, b []byte) error {
	l, err := p.configured()
	if err != nil {
		return err
	}
	return l.SetState(b)
}
