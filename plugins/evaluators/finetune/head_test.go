package finetune

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func batch(r *rand.Rand, n, d int) []float64 {
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func targets(r *rand.Rand, task linear.Task, n, k int) Targets {
	var t Targets
	for i := 0; i < n; i++ {
		if task == linear.MultiClass {
			t.Class = append(t.Class, r.IntN(k))
			continue
		}
		row := make([]float64, k)
		for j := range row {
			row[j] = float64(r.IntN(2))
		}
		t.Y = append(t.Y, row)
	}
	if task != linear.MultiClass {
		t.Y[0][0] = math.NaN()
	}
	return t
}

func TestGradientsFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, d, h = 6, 5, 1e-6
	for _, task := range []linear.Task{linear.MultiLabel, linear.MultiClass} {
		head, err := New(DefaultConfig(task, d, 3))
		if err != nil {
			t.Fatal(err)
		}
		x, tg := batch(r, n, d), targets(r, task, n, 3)
		loss := func() float64 {
			res, err := head.Compute(vec.Tensor(tensor.Float64, n, d, x), tg)
			if err != nil {
				t.Fatal(err)
			}
			return res.Loss
		}
		res, err := head.Compute(vec.Tensor(tensor.Float64, n, d, x), tg)
		if err != nil {
			t.Fatal(err)
		}
		_, _, gx, _ := vec.Matrix(res.GradFeatures)
		for i := range x {
			old := x[i]
			x[i] = old + h
			lp := loss()
			x[i] = old - h
			lm := loss()
			x[i] = old
			if fd := (lp - lm) / (2 * h); math.Abs(fd-gx[i]) > 1e-7 {
				t.Errorf("%s: dL/dx[%d] = %v, finite difference %v", task, i, gx[i], fd)
			}
		}
		// Gradient w.r.t. the head's parameters: start fresh, one Compute.
		fresh, _ := New(DefaultConfig(task, d, 3))
		if _, err := fresh.Compute(vec.Tensor(tensor.Float64, n, d, x), tg); err != nil {
			t.Fatal(err)
		}
		var st state
		b, _ := fresh.State()
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		probe, _ := New(DefaultConfig(task, d, 3))
		lossAt := func(params []float64) float64 {
			s := st
			s.Params = params
			b, _ := json.Marshal(s)
			if err := probe.SetState(b); err != nil {
				t.Fatal(err)
			}
			res, err := probe.Compute(vec.Tensor(tensor.Float64, n, d, x), tg)
			if err != nil {
				t.Fatal(err)
			}
			return res.Loss
		}
		p := append([]float64(nil), st.Params...)
		for i := range p {
			old := p[i]
			p[i] = old + h
			lp := lossAt(p)
			p[i] = old - h
			lm := lossAt(p)
			p[i] = old
			if fd := (lp - lm) / (2 * h); math.Abs(fd-st.Grad[i]) > 1e-7 {
				t.Errorf("%s: dL/dparam[%d] = %v, finite difference %v", task, i, st.Grad[i], fd)
			}
		}
	}
}

func TestTrainingReducesLoss(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	cfg := DefaultConfig(linear.Binary, 4, 1)
	cfg.LR = 0.05
	head, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := batch(r, 64, 4)
	tg := Targets{}
	for i := 0; i < 64; i++ {
		y := 0.0
		if x[i*4]+x[i*4+1] > 0 {
			y = 1
		}
		tg.Y = append(tg.Y, []float64{y})
	}
	feat := vec.Tensor(tensor.Float32, 64, 4, x)
	first, err := head.Compute(feat, tg)
	if err != nil {
		t.Fatal(err)
	}
	if first.GradFeatures.DType != tensor.Float32 {
		t.Errorf("gradient dtype %s, want float32", first.GradFeatures.DType)
	}
	for i := 0; i < 200; i++ {
		if err := head.Step(); err != nil {
			t.Fatal(err)
		}
		if _, err := head.Compute(feat, tg); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := head.Compute(feat, tg)
	if last.Loss > first.Loss/3 {
		t.Errorf("loss went from %v to %v", first.Loss, last.Loss)
	}
	// Checkpoint round trip.
	b, err := head.State()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(cfg)
	if err := other.SetState(b); err != nil {
		t.Fatal(err)
	}
	again, _ := other.Compute(feat, tg)
	if math.Abs(again.Loss-last.Loss) > 1e-12 {
		t.Errorf("restored head loss %v, original %v", again.Loss, last.Loss)
	}
	if err := other.SetState([]byte(`{"version":1,"params":[1]}`)); err == nil {
		t.Error("state of the wrong size accepted")
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(DefaultConfig(linear.Binary, 4, 2)); err == nil {
		t.Error("binary head with 2 outputs accepted")
	}
	head, _ := New(DefaultConfig(linear.MultiClass, 2, 3))
	x := vec.Tensor(tensor.Float32, 1, 2, []float64{1, 2})
	if _, err := head.Compute(x, Targets{Class: []int{3}}); err == nil {
		t.Error("class out of range accepted")
	}
	if _, err := head.Compute(vec.Tensor(tensor.Float32, 1, 3, []float64{1, 2, 3}), Targets{Class: []int{0}}); err == nil {
		t.Error("wrong feature width accepted")
	}
}
