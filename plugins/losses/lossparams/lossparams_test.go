package lossparams

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/encoders/optim"
	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// quad is a loss with one 3-vector parameter w: sum((w - 1)^2).
type quad struct {
	p *Params
	w *layers.Linear
}

func newQuad(t *testing.T, seed int64) *quad {
	t.Helper()
	q := &quad{}
	var err error
	q.p, err = New(Config{Settings: optim.Settings{Optimizer: "adam", LR: 0.1}, Seed: seed}, func(root *nn.Path) error {
		q.w, err = layers.NewLinear(root.Sub("w"), 3, 1, nil, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// grad accumulates the gradient of sum((w - 1)^2) after ZeroGrad.
func (q *quad) grad(t *testing.T) {
	t.Helper()
	err := torchrt.Pin(func() error {
		q.p.ZeroGrad()
		d := q.w.Weight.MustSubScalar(ts.FloatScalar(1), false)
		l := d.MustMul(d, false).MustSum(gotch.Float, true)
		defer d.MustDrop()
		defer l.MustDrop()
		return l.Backward()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStateResumesExactly: parameters and Adam's moments saved after two
// steps and restored into a loss from another seed continue exactly as the
// uninterrupted loss does; the seed fixes the initialisation; a state
// missing a parameter is refused.
func TestStateResumesExactly(t *testing.T) {
	a := newQuad(t, 1)
	for range 2 {
		a.grad(t)
		if err := a.p.Step(); err != nil {
			t.Fatal(err)
		}
	}
	mid, err := a.p.State()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a.grad(t)
		a.p.Step()
	}
	want, _ := a.p.State()

	b := newQuad(t, 2)
	b0, _ := b.p.State()
	if c0, _ := newQuad(t, 2).p.State(); !bytes.Equal(b0, c0) {
		t.Error("one seed gave two initialisations")
	}
	if err := b.p.SetState(mid); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b.grad(t)
		b.p.Step()
	}
	got, _ := b.p.State()
	if !bytes.Equal(got, want) || b.p.Steps() != 4 {
		t.Errorf("resumed state differs from the uninterrupted one (steps %d)", b.p.Steps())
	}
	other, err := New(DefaultConfig(), func(root *nn.Path) error {
		_, err := layers.NewLinear(root.Sub("v"), 3, 1, nil, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SetState(mid); err == nil || !strings.Contains(err.Error(), "loss parameters state") {
		t.Errorf("a state of other parameters: %v", err)
	}
}

// TestSplitEqualParts: Split cuts a [2, 6] tensor into three [2, 2]
// column blocks in order.
func TestSplitEqualParts(t *testing.T) {
	err := torchrt.Pin(func() error {
		var s torchx.Scope
		defer s.Free()
		x, err := s.Keep(ts.Arange(ts.IntScalar(12), gotch.Float, gotch.CPU))
		if err != nil {
			return err
		}
		if x, err = s.Keep(x.Reshape([]int64{2, 6}, false)); err != nil {
			return err
		}
		parts, err := Split(&s, x, 1, 3)
		if err != nil {
			return err
		}
		want := [][]float32{{0, 1, 6, 7}, {2, 3, 8, 9}, {4, 5, 10, 11}}
		for k, p := range parts {
			c, err := s.Keep(p.Contiguous(false))
			if err != nil {
				return err
			}
			if got := c.Vals().([]float32); !slices.Equal(got, want[k]) {
				t.Errorf("part %d = %v, want %v", k, got, want[k])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackprop: the loss sum(x * x) of a float64 input comes back with its
// value and the gradient 2x in float64.
func TestBackprop(t *testing.T) {
	q := newQuad(t, 1)
	x, err := tensor.FromFloat64s(tensor.Float64, []int64{3}, []float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	loss, grads, err := q.p.Backprop([]*tensor.Tensor{x}, func(s *torchx.Scope, leaves []*ts.Tensor) (*ts.Tensor, error) {
		return Chain(s, leaves[0],
			func(v *ts.Tensor) (*ts.Tensor, error) { return v.Mul(v, false) },
			func(v *ts.Tensor) (*ts.Tensor, error) { return v.Sum(gotch.Double, false) })
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := grads[0].Float64s()
	if loss != 14 || err != nil || grads[0].DType != tensor.Float64 || !slices.Equal(g, []float64{2, 4, 6}) {
		t.Errorf("Backprop = %v, %v (%v, %v); want 14, [2 4 6] float64", loss, g, grads[0].DType, err)
	}
}
