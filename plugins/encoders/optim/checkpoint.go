package optim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// A checkpoint of parameters trained by an Optimizer (an encoder's, a
// loss's own) is one safetensors file: the VarStore's variables under a
// prefix the owner chooses, the optimiser's tensors under "optim/", and in
// the metadata "scalars", a JSON object of the optimiser's scalars and the
// owner's (schedule state, step counts).
const (
	checkpointOptimPrefix = "optim/"
	checkpointScalarsKey  = "scalars"
)

// EncodeCheckpoint writes vs's variables under varPrefix, o's tensors and
// scalars, and extra (overriding o's scalars of the same name) as one
// checkpoint. Call it on the thread that owns vs.
func EncodeCheckpoint(vs *nn.VarStore, varPrefix string, o *Optimizer, extra map[string]float64) ([]byte, error) {
	vars, err := safetensors.FromVarStore(vs)
	if err != nil {
		return nil, err
	}
	f := &safetensors.File{Tensors: map[string]safetensors.Tensor{}, Metadata: map[string]string{}}
	for name, t := range vars.Tensors {
		f.Tensors[varPrefix+name] = t
	}
	ot, scalars := o.State()
	for name, x := range ot {
		if f.Tensors[checkpointOptimPrefix+name], err = safetensors.TensorOf(x); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for k, v := range extra {
		scalars[k] = v
	}
	b, err := json.Marshal(scalars)
	if err != nil {
		return nil, err
	}
	f.Metadata[checkpointScalarsKey] = string(b)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseCheckpoint reads what EncodeCheckpoint wrote: the file and its
// scalars. It touches no tensor memory, so any thread may call it.
func ParseCheckpoint(state []byte) (*safetensors.File, map[string]float64, error) {
	f, err := safetensors.Parse(state)
	if err != nil {
		return nil, nil, err
	}
	var scalars map[string]float64
	if err := json.Unmarshal([]byte(f.Metadata[checkpointScalarsKey]), &scalars); err != nil {
		return nil, nil, fmt.Errorf("metadata %q: %w", checkpointScalarsKey, err)
	}
	return f, scalars, nil
}

// LoadCheckpointVars loads vs's variables from a parsed checkpoint's under
// varPrefix, ignoring the optimiser's tensors: every variable must be
// present with its shape, and nothing changes unless all match. what names
// the checkpoint in errors.
func LoadCheckpointVars(vs *nn.VarStore, f *safetensors.File, varPrefix, what string) error {
	isOptim := func(name string) bool { return strings.HasPrefix(name, checkpointOptimPrefix) }
	return safetensors.LoadFile(vs, f, what, safetensors.LoadOptions{StripPrefix: varPrefix, AllowUnexpected: isOptim})
}

// RestoreCheckpoint sets o's state from a parsed checkpoint's optimiser
// tensors and its scalars. Call it on the thread that owns o's parameters.
func (o *Optimizer) RestoreCheckpoint(f *safetensors.File, scalars map[string]float64) error {
	opt := map[string]*ts.Tensor{}
	defer func() {
		for _, x := range opt {
			x.MustDrop()
		}
	}()
	for name, t := range f.Tensors {
		if rest, ok := strings.CutPrefix(name, checkpointOptimPrefix); ok {
			x, err := t.Torch()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			opt[rest] = x
		}
	}
	return o.SetState(opt, scalars)
}
