package bert

import (
	"math"
	"runtime"
	"testing"

	"github.com/convirt/convirt/plugins/models/modeltest"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

func pinned(t *testing.T, fn func() error) {
	t.Helper()
	if err := torchrt.Pin(fn); err != nil {
		t.Fatal(err)
	}
}

func tiny() Config {
	c := Tiny(50)
	c.Hidden, c.Heads, c.Intermediate, c.MaxPositions = 32, 4, 64, 16
	return c
}

func ints(shape []int64, v ...int64) *ts.Tensor {
	return ts.MustOfSlice(v).MustView(shape, true)
}

func TestNames(t *testing.T) {
	vs := nn.NewVarStore(gotch.CPU)
	if _, err := New(vs.Root(), tiny()); err != nil {
		t.Fatal(err)
	}
	defer runtime.KeepAlive(vs)
	vars := vs.Variables()
	if len(vars) != 5+2*16 {
		t.Errorf("%d variables, want 37", len(vars))
	}
	want := map[string][]int64{
		"embeddings.word_embeddings.weight":                 {50, 32},
		"embeddings.position_embeddings.weight":             {16, 32},
		"embeddings.token_type_embeddings.weight":           {2, 32},
		"embeddings.LayerNorm.bias":                         {32},
		"encoder.layer.0.attention.self.query.weight":       {32, 32},
		"encoder.layer.1.attention.self.value.bias":         {32},
		"encoder.layer.0.attention.output.dense.weight":     {32, 32},
		"encoder.layer.1.attention.output.LayerNorm.weight": {32},
		"encoder.layer.0.intermediate.dense.weight":         {64, 32},
		"encoder.layer.1.output.dense.weight":               {32, 64},
		"encoder.layer.1.output.LayerNorm.bias":             {32},
	}
	for name, shape := range want {
		v, ok := vars[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if got := v.MustSize(); len(got) != len(shape) || got[0] != shape[0] {
			t.Errorf("%s: shape %v, want %v", name, got, shape)
		}
	}
	for _, bad := range []Config{{}, func() Config { c := tiny(); c.Heads = 5; return c }(), func() Config { c := tiny(); c.FreezeLayers = 3; return c }()} {
		if _, err := New(nn.NewVarStore(gotch.CPU).Root(), bad); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

func TestMaxPoolIgnoresPadding(t *testing.T) {
	pinned(t, func() error {
		h := ts.MustOfSlice([]float32{1, -5, 2, -1, 100, 100, -3, -4, 50, 60, 70, 80}).MustView([]int64{2, 3, 2}, true)
		mask := ints([]int64{2, 3}, 1, 1, 0, 1, 0, 0)
		got, err := MaxPool(h, mask)
		if err != nil {
			return err
		}
		want := []float64{2, -1, -3, -4}
		for i, v := range got.MustView([]int64{-1}, true).Float64Values(true) {
			if v != want[i] {
				t.Errorf("pooled %d = %v, want %v", i, v, want[i])
			}
		}
		// At model level, extra padding leaves the pooled output unchanged.
		torchrt.ManualSeed(3)
		m, err := New(nn.NewVarStore(gotch.CPU).Root(), tiny())
		if err != nil {
			return err
		}
		a, err := m.Forward(ints([]int64{1, 3}, 2, 7, 3), ints([]int64{1, 3}, 1, 1, 1), false)
		if err != nil {
			return err
		}
		b, err := m.Forward(ints([]int64{1, 6}, 2, 7, 3, 0, 0, 0), ints([]int64{1, 6}, 1, 1, 1, 0, 0, 0), false)
		if err != nil {
			return err
		}
		diff := a.MustSub(b, true).MustAbs(true).MustMax(true).Float64Values(true)[0]
		if diff > 1e-5 || math.IsNaN(diff) {
			t.Errorf("padding changed the pooled output by %g", diff)
		}
		return nil
	})
}

// TestTrainFrozen trains a tiny BERT with frozen embeddings and layer 0 on
// one thread: the eval loss on the fixed batch falls below half its first
// value, trainable variables get finite non-zero gradients and change,
// frozen ones get neither.
func TestTrainFrozen(t *testing.T) {
	modeltest.OneThread(t)
	for _, pool := range []Pooling{PoolMax, PoolCLS} {
		pinned(t, func() error {
			torchrt.ManualSeed(4)
			cfg := tiny()
			cfg.FreezeEmbeddings, cfg.FreezeLayers, cfg.Pooling = true, 1, pool
			vs := nn.NewVarStore(gotch.CPU)
			m, err := New(vs.Root(), cfg)
			if err != nil {
				return err
			}
			if n := len(vs.TrainableVariables()); n != 16 {
				t.Errorf("%d trainable variables, want 16", n)
			}
			before := map[string]float64{}
			for name, v := range vs.Variables() {
				before[name] = v.MustSum(gotch.Double, false).Float64Values(true)[0]
			}
			opt, err := nn.DefaultAdamConfig().Build(vs, 1e-2) // a fixed batch to overfit: a large step is fine
			if err != nil {
				return err
			}
			ids := ints([]int64{2, 4}, 2, 9, 11, 3, 2, 5, 3, 0)
			mask := ints([]int64{2, 4}, 1, 1, 1, 1, 1, 1, 1, 0)
			evalLoss := func() float64 {
				f, err := m.Forward(ids, mask, false)
				if err != nil {
					t.Fatal(err)
				}
				return f.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true).Float64Values(true)[0]
			}
			first := evalLoss()
			var gradsChecked bool
			modeltest.Fits(t, 80, 0.5, func(step int) (float64, error) {
				if step == 0 {
					return first, nil // the untrained model's eval loss
				}
				f, err := m.Forward(ids, mask, true)
				if err != nil {
					return 0, err
				}
				if s := f.MustSize(); s[0] != 2 || s[1] != 32 {
					t.Fatalf("pooled %v", s)
				}
				loss := f.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true)
				defer loss.MustDrop()
				opt.MustZeroGrad()
				if err := loss.Backward(); err != nil {
					return 0, err
				}
				if !gradsChecked {
					gradsChecked = true
					for name, v := range vs.Variables() {
						g := v.MustGrad(false)
						frozen := name[:3] == "emb" || len(name) > 16 && name[:16] == "encoder.layer.0."
						if frozen == g.MustDefined() || frozen == v.MustRequiresGrad() {
							t.Errorf("%s: frozen %v but grad defined %v", name, frozen, g.MustDefined())
						}
						g.MustDrop()
					}
					bad, err := modeltest.Gradients(vs)
					if err != nil {
						return 0, err
					}
					if len(bad) > 0 {
						t.Errorf("%s: no finite non-zero gradient for %v", pool, bad)
					}
				}
				if err := opt.Step(); err != nil {
					return 0, err
				}
				return evalLoss(), nil
			})
			for name, v := range vs.Variables() {
				after := v.MustSum(gotch.Double, false).Float64Values(true)[0]
				frozen := !v.MustRequiresGrad()
				if frozen != (after == before[name]) {
					t.Errorf("%s: frozen %v, sum %v -> %v", name, frozen, before[name], after)
				}
			}
			runtime.KeepAlive(vs)
			return nil
		})
	}
}
