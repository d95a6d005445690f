package finetune

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/internal/adam"
	"github.com/convirt/convirt/plugins/sdk/jsonstate"
)

const stateVersion = 1

// state is the head's trainable state: parameters (W, Out x In row-major,
// then b), the pending gradient and Adam's moments.
type state struct {
	jsonstate.Header
	Params []float64 `json:"params"`
	adam.State[[]float64]
}

// Step applies the gradient accumulated since the last Step with Adam
// (weight decay on W only) and clears it. Without a pending gradient it does
// nothing.
func (h *Head) Step() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.st.Pending {
		return nil
	}
	c := h.cfg
	h.st.Steps++
	step := adam.Config{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps}.At(h.st.Steps)
	nw := c.Out * c.In
	for i, p := range h.st.Params {
		g := h.st.Grad[i]
		if i < nw {
			g += c.WeightDecay * p
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return fmt.Errorf("finetune: step: gradient %d is %v", i, g)
		}
		h.st.Params[i] = step.Update(p, g, &h.st.M[i], &h.st.V[i])
		h.st.Grad[i] = 0
	}
	h.st.Pending = false
	return nil
}

// State returns the head's parameters, pending gradient and Adam state as
// JSON, for checkpoints.
func (h *Head) State() ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return jsonstate.Encode("finetune", h.st)
}

// SetState restores a state written by State for a head of the same shape.
func (h *Head) SetState(b []byte) error {
	var st state
	if err := jsonstate.Decode("finetune", b, &st, stateVersion); err != nil {
		return err
	}
	n := h.cfg.Out*h.cfg.In + h.cfg.Out
	for name, v := range map[string][]float64{"params": st.Params, "grad": st.Grad, "adam_m": st.M, "adam_v": st.V} {
		if len(v) != n {
			return fmt.Errorf("finetune: state field %s has %d values, head has %d parameters", name, len(v), n)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st = st
	return nil
}
