package finetune

import (
	"encoding/json"
	"fmt"
	"math"
)

const stateVersion = 1

// state is the head's trainable state: parameters (W, Out x In row-major,
// then b), the pending gradient and Adam's moments.
type state struct {
	Version int       `json:"version"`
	Params  []float64 `json:"params"`
	Grad    []float64 `json:"grad"`
	Pending bool      `json:"pending"`
	M       []float64 `json:"adam_m"`
	V       []float64 `json:"adam_v"`
	Steps   int64     `json:"steps"`
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
	bc1 := 1 - math.Pow(c.Beta1, float64(h.st.Steps))
	bc2 := 1 - math.Pow(c.Beta2, float64(h.st.Steps))
	nw := c.Out * c.In
	for i, p := range h.st.Params {
		g := h.st.Grad[i]
		if i < nw {
			g += c.WeightDecay * p
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return fmt.Errorf("finetune: step: gradient %d is %v", i, g)
		}
		h.st.M[i] = c.Beta1*h.st.M[i] + (1-c.Beta1)*g
		h.st.V[i] = c.Beta2*h.st.V[i] + (1-c.Beta2)*g*g
		h.st.Params[i] = p - c.LR*(h.st.M[i]/bc1)/(math.Sqrt(h.st.V[i]/bc2)+c.Eps)
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
	b, err := json.Marshal(h.st)
	if err != nil {
		return nil, fmt.Errorf("finetune: encode state: %w", err)
	}
	return b, nil
}

// SetState restores a state written by State for a head of the same shape.
func (h *Head) SetState(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("finetune: decode state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("finetune: state version %d, want %d", st.Version, stateVersion)
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
