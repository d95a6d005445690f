package torchenc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/convirt/convirt/core/tensor"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch/ts"
)

// The encoder's state is one safetensors file: every variable under
// "model/NAME", the optimiser's tensors under "optim/...", and in the
// metadata "scalars" (a JSON object: optimiser steps and lr, schedule state,
// encoder steps). Dropout randomness is a function of (seed, step), so the
// step count is the whole RNG state.

const scalarsKey = "scalars"

var stDType = map[tensor.DType]string{tensor.Float32: "F32", tensor.Int64: "I64"}
var fromST = map[string]tensor.DType{"F32": tensor.Float32, "I64": tensor.Int64}

// State implements sdk.Encoder.
func (e *Encoder) State(context.Context) ([]byte, error) {
	var out []byte
	err := e.do(func() error {
		defer runtime.KeepAlive(e.vs)
		f := &safetensors.File{Tensors: map[string]safetensors.Tensor{}, Metadata: map[string]string{}}
		add := func(name string, x *ts.Tensor) error {
			t, err := FromTorch(x)
			if err != nil {
				return fmt.Errorf("state %s: %w", name, err)
			}
			f.Tensors[name] = safetensors.Tensor{DType: stDType[t.DType], Shape: t.Shape, Data: t.Data}
			return nil
		}
		for name, v := range e.vs.Variables() {
			if err := add("model/"+name, &v); err != nil {
				return err
			}
		}
		ot, scalars := e.opt.State()
		for name, x := range ot {
			if err := add("optim/"+name, x); err != nil {
				return err
			}
		}
		for k, v := range e.sched.State() {
			scalars[k] = v
		}
		scalars["encoder_steps"] = float64(e.steps)
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
		vars := e.vs.Variables()
		var problems []string
		for name, v := range vars {
			t, ok := f.Tensors["model/"+name]
			switch {
			case !ok:
				problems = append(problems, "missing "+name)
			case fmt.Sprint(t.Shape) != fmt.Sprint(v.MustSize()):
				problems = append(problems, fmt.Sprintf("%s: state %v, model %v", name, t.Shape, v.MustSize()))
			}
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			return fmt.Errorf("encoder state does not fit this model: %s", strings.Join(problems, "; "))
		}
		load := func(name string) (*ts.Tensor, error) {
			t := f.Tensors[name]
			dt, ok := fromST[t.DType]
			if !ok {
				return nil, fmt.Errorf("state %s: dtype %s", name, t.DType)
			}
			return ToTorch(&tensor.Tensor{DType: dt, Shape: t.Shape, Data: t.Data}, e.dev)
		}
		var err error
		ts.NoGrad(func() {
			for name, v := range vars {
				var x *ts.Tensor
				if x, err = load("model/" + name); err != nil {
					return
				}
				v.Copy_(x)
				x.MustDrop()
			}
		})
		if err != nil {
			return err
		}
		opt := map[string]*ts.Tensor{}
		for name := range f.Tensors {
			if rest, ok := strings.CutPrefix(name, "optim/"); ok {
				x, err := load(name)
				if err != nil {
					return err
				}
				opt[rest] = x
			}
		}
		defer func() {
			for _, x := range opt {
				x.MustDrop()
			}
		}()
		if err := e.opt.SetState(opt, scalars); err != nil {
			return err
		}
		e.sched.SetState(scalars)
		e.steps = int64(scalars["encoder_steps"])
		return nil
	})
}
