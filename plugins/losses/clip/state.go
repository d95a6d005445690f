package clip

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/internal/adam"
	"github.com/convirt/convirt/plugins/sdk/jsonstate"
)

// stateVersion is the version of the State encoding.
const stateVersion = 1

// state is everything Step changes: the parameter, its pending gradient and
// Adam's moments.
type state struct {
	jsonstate.Header
	LogScale float64 `json:"logit_scale"`
	adam.State[float64]
}

// State returns the loss's trainable state (s, its pending gradient and the
// optimiser's moments) as JSON, for checkpoints.
func (l *Loss) State() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	st.Version, st.Pending = stateVersion, l.pending
	return jsonstate.Encode("clip", st)
}

// SetState restores a state written by State.
func (l *Loss) SetState(b []byte) error {
	var st state
	if err := jsonstate.Decode("clip", b, &st, stateVersion); err != nil {
		return err
	}
	for name, x := range map[string]float64{"logit_scale": st.LogScale, "grad": st.Grad, "adam_m": st.M, "adam_v": st.V} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("clip: state field %s is %v", name, x)
		}
	}
	if st.V < 0 || st.Steps < 0 {
		return fmt.Errorf("clip: state has adam_v %v and steps %d; both must be >= 0", st.V, st.Steps)
	}
	if st.LogScale < 0 || st.LogScale > l.cfg.MaxLogScale {
		return fmt.Errorf("clip: state logit_scale %v is outside [0, %v]", st.LogScale, l.cfg.MaxLogScale)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = st.Pending
	st.Pending = false
	l.st = st
	return nil
}
