// Package lossparams holds a loss plugin's own trainable parameters: a
// VarStore, its optimiser, and their checkpoint encoding. A loss with
// parameters of its own (GLoRIA's projection of the image's local map, a
// captioning decoder) builds them here, lets Compute accumulate their
// gradients, and serves Step, State and SetState from a Params, so that
// they are trained beside the encoders and saved and restored with the run.
package lossparams

import (
	"fmt"

	"github.com/convirt/convirt/plugins/encoders/optim"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
)

// Config is the optimiser of a loss's parameters and the seed of their
// initialisation; a loss's config embeds it.
type Config struct {
	optim.Settings
	Seed int64 `json:"seed" doc:"initialisation seed of the loss's own parameters"`
}

// DefaultConfig is Adam at the encoders' default rate.
func DefaultConfig() Config { return Config{Settings: optim.Settings{Optimizer: "adam", LR: 1e-4}} }

// Params are a loss's parameters on the CPU with their optimiser.
type Params struct {
	VS  *nn.VarStore
	opt *optim.Optimizer
}

// New seeds libtorch with cfg.Seed, builds the parameters under the
// VarStore's root with build, and the optimiser over them.
func New(cfg Config, build func(root *nn.Path) error) (*Params, error) {
	p := &Params{}
	err := torchrt.Pin(func() error {
		torchrt.ManualSeed(cfg.Seed)
		p.VS = nn.NewVarStore(gotch.CPU)
		if err := build(p.VS.Root()); err != nil {
			return err
		}
		var err error
		p.opt, err = optim.New(p.VS, cfg.Config()) // optim.Settings.Config
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ZeroGrad clears the accumulated gradients: a Compute calls it first, so
// that the Step after it applies that Compute's gradients only (a
// validation Compute, never followed by a Step, leaves nothing behind).
func (p *Params) ZeroGrad() { p.opt.ZeroGrad() }

// Step applies the optimiser to the gradients of the last Compute.
func (p *Params) Step() error { return torchrt.Pin(p.opt.Step) }

// Steps is the number of optimiser steps taken.
func (p *Params) Steps() int64 { return p.opt.Steps() }

// The state is one optim checkpoint: the parameters under "param/NAME",
// the optimiser's tensors and scalars.
const paramPrefix = "param/"

// State encodes the parameters and the optimiser.
func (p *Params) State() ([]byte, error) {
	var out []byte
	err := torchrt.Pin(func() (err error) {
		out, err = optim.EncodeCheckpoint(p.VS, paramPrefix, p.opt, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loss parameters state: %w", err)
	}
	return out, nil
}

// SetState restores a State: every parameter must be present with its
// shape.
func (p *Params) SetState(state []byte) error {
	f, scalars, err := optim.ParseCheckpoint(state)
	if err != nil {
		return fmt.Errorf("loss parameters state: %w", err)
	}
	return torchrt.Pin(func() error {
		if err := optim.LoadCheckpointVars(p.VS, f, paramPrefix, "loss parameters state"); err != nil {
			return err
		}
		if err := p.opt.RestoreCheckpoint(f, scalars); err != nil {
			return fmt.Errorf("loss parameters state: %w", err)
		}
		return nil
	})
}
