package optim

import (
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// TestCheckpointRoundTrip trains one parameter a step, encodes it with its
// optimiser and an owner's scalar, and restores all three into a fresh
// VarStore and optimiser: the parameter, Adam's moments, the step count and
// the owner's scalar come back as they were. A checkpoint whose variables
// sit under another prefix is refused.
func TestCheckpointRoundTrip(t *testing.T) {
	err := torchrt.Pin(func() error {
		build := func(init float32) (*nn.VarStore, *ts.Tensor, *Optimizer, error) {
			vs := nn.NewVarStore(gotch.CPU)
			x := ts.MustOfSlice([]float32{init, 2 * init, 3 * init})
			p, err := vs.Root().Add("w", x, true)
			x.MustDrop()
			if err != nil {
				return nil, nil, nil, err
			}
			o, err := New(vs, Config{Name: "adam", LR: 0.1})
			return vs, p, o, err
		}
		vs, p, o, err := build(1)
		if err != nil {
			return err
		}
		loss := p.MustMul(p, false).MustSum(gotch.Float, true)
		if err := loss.Backward(); err != nil {
			return err
		}
		loss.MustDrop()
		if err := o.Step(); err != nil {
			return err
		}
		state, err := EncodeCheckpoint(vs, "model/", o, map[string]float64{"owner_steps": 7})
		if err != nil {
			return err
		}

		vs2, p2, o2, err := build(0)
		if err != nil {
			return err
		}
		f, scalars, err := ParseCheckpoint(state)
		if err != nil {
			return err
		}
		if err := LoadCheckpointVars(vs2, f, "model/", "test state"); err != nil {
			return err
		}
		if err := o2.RestoreCheckpoint(f, scalars); err != nil {
			return err
		}
		if scalars["owner_steps"] != 7 || o2.Steps() != 1 || o2.LR() != 0.1 {
			t.Errorf("scalars %v, restored steps %d lr %v; want owner_steps 7, 1 step, lr 0.1", scalars, o2.Steps(), o2.LR())
		}
		if got, want := p2.Float64Values(), p.Float64Values(); len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
			t.Errorf("restored parameter %v, want %v", got, want)
		}
		t1, _ := o.State()
		t2, _ := o2.State()
		for name, x := range t1 {
			if t2[name] == nil {
				t.Errorf("moment %s not restored", name)
				continue
			}
			if got, want := t2[name].Float64Values(), x.Float64Values(); len(got) != len(want) || got[1] != want[1] {
				t.Errorf("moment %s restored as %v, want %v", name, got, want)
			}
		}
		if len(t2) != len(t1) || len(t1) != 2 {
			t.Errorf("restored %d optimiser tensors, want %d (Adam's m and v)", len(t2), len(t1))
		}
		if err := LoadCheckpointVars(vs2, f, "param/", "test state"); err == nil || !strings.Contains(err.Error(), "test state") {
			t.Errorf("variables under another prefix: %v, want an error naming the state", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
