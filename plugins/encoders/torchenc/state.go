package torchenc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch/ts"
)

// The encoder's state is one safetensors file: every variable under
// "model/NAME", the optimiser's tensors under "optim/...", and in the
// metadata "scalars" (a JSON object: optimiser steps and lr, schedule state,
// encoder steps, and under fp16 the loss scale). Dropout randomness is a function of (seed, step), so the
// step count is the whole RNG state.

const (
	scalarsKey  = "scalars"
	modelPrefix = "model/"
	optimPrefix = "optim/"
)

// State implements sdk.Encoder.
func (e *Encoder) State(context.Context) ([]byte, error) {
	var out []byte
	err := e.do(func() error {
		vars, err := safetensors.FromVarStore(e.vs)
		if err != nil {
			return fmt.Errorf("encoder state: %w", err)
		}
		f := &safetensors.File{Tensors: map[string]safetensors.Tensor{}, Metadata: map[string]string{}}
		for name, t := range vars.Tensors {
			f.Tensors[modelPrefix+name] = t
		}
		ot, scalars := e.opt.State()
		for name, x := range ot {
			if f.Tensors[optimPrefix+name], err = safetensors.TensorOf(x); err != nil {
				return fmt.Errorf("encoder state %s: %w", name, err)
			}
		}
		for k, v := range e.sched.State() {
			scalars[k] = v
		}
		scalars["encoder_steps"] = float64(e.steps)
		if e.scaler != nil {
			scalars["loss_scale"], scalars["loss_scale_good"] = e.scaler.Scale, float64(e.scaler.Good)
		}
		b, err := json.Marshal(scalars)
		if err != nil {
			return err
		}
		f.Metadata[scalarsKey] = string(b)
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, f); err != nil {
			return err
		}
		out = buf.Bytes()
		return nil
	})
	return out, err
}

// SetState implements sdk.Encoder. Every model variable must be present
// with its shape; nothing changes unless all match.
func (e *Encoder) SetState(_ context.Context, state []byte) error {
	f, err := safetensors.Parse(state)
	if err != nil {
		return fmt.Errorf("encoder state: %w", err)
	}
	var scalars map[string]float64
	if err := json.Unmarshal([]byte(f.Metadata[scalarsKey]), &scalars); err != nil {
		return fmt.Errorf("encoder state: metadata %q: %w", scalarsKey, err)
	}
	return e.do(func() error {
		defer runtime.KeepAlive(e.vs)
		isOptim := func(name string) bool { return strings.HasPrefix(name, optimPrefix) }
		opts := safetensors.LoadOptions{StripPrefix: modelPrefix, AllowUnexpected: isOptim}
		if err := safetensors.LoadFile(e.vs, f, "encoder state", opts); err != nil {
			return err
		}
		if !e.cfg.RestoreOptimizer {
			return nil // weights only: the configured optimiser starts afresh
		}
		opt := map[string]*ts.Tensor{}
		defer func() {
			for _, x := range opt {
				x.MustDrop()
			}
		}()
		for name, t := range f.Tensors {
			if rest, ok := strings.CutPrefix(name, optimPrefix); ok {
				x, err := t.Torch()
				if err != nil {
					return fmt.Errorf("encoder state %s: %w", name, err)
				}
				opt[rest] = x
			}
		}
		if err := e.opt.SetState(opt, scalars); err != nil {
			return err
		}
		e.sched.SetState(scalars)
		e.steps = int64(scalars["encoder_steps"])
		if scale, ok := scalars["loss_scale"]; ok && e.scaler != nil && scale > 0 {
			e.scaler.Scale, e.scaler.Good = scale, int(scalars["loss_scale_good"])
		}
		return nil
	})
}
