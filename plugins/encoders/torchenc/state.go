package torchenc

import (
	"context"
	"fmt"
	"runtime"

	"github.com/convirt/convirt/plugins/encoders/optim"
)

// The encoder's state is one optim checkpoint: every variable under
// "model/NAME", the optimiser's tensors, and among the scalars the schedule
// state, encoder steps, and under fp16 the loss scale. Dropout randomness is
// a function of (seed, step), so the step count is the whole RNG state.
const modelPrefix = "model/"

// State implements sdk.Encoder.
func (e *Encoder) State(context.Context) ([]byte, error) {
	var out []byte
	err := e.do(func() error {
		extra := e.sched.State()
		extra["encoder_steps"] = float64(e.steps)
		if e.scaler != nil {
			extra["loss_scale"], extra["loss_scale_good"] = e.scaler.Scale, float64(e.scaler.Good)
		}
		var err error
		if out, err = optim.EncodeCheckpoint(e.vs, modelPrefix, e.opt, extra); err != nil {
			return fmt.Errorf("encoder state: %w", err)
		}
		return nil
	})
	return out, err
}

// SetState implements sdk.Encoder. Every model variable must be present
// with its shape; nothing changes unless all match.
func (e *Encoder) SetState(_ context.Context, state []byte) error {
	f, scalars, err := optim.ParseCheckpoint(state)
	if err != nil {
		return fmt.Errorf("encoder state: %w", err)
	}
	return e.do(func() error {
		defer runtime.KeepAlive(e.vs)
		if err := optim.LoadCheckpointVars(e.vs, f, modelPrefix, "encoder state"); err != nil {
			return err
		}
		if !e.cfg.RestoreOptimizer {
			return nil // weights only: the configured optimiser starts afresh
		}
		if err := e.opt.RestoreCheckpoint(f, scalars); err != nil {
			return fmt.Errorf("encoder state: %w", err)
		}
		e.sched.SetState(scalars)
		e.steps = int64(scalars["encoder_steps"])
		if scale, ok := scalars["loss_scale"]; ok && e.scaler != nil && scale > 0 {
			e.scaler.Scale, e.scaler.Good = scale, int(scalars["loss_scale_good"])
		}
		return nil
	})
}
