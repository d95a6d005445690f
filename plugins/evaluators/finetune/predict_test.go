package finetune

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestPredictAndLossMatchCompute checks that Predict and Loss give Compute's
// probabilities and loss, and leave the head (weights, pending gradient,
// Adam state) untouched.
func TestPredictAndLossMatchCompute(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const n, d, k = 7, 4, 3
	for _, task := range []linear.Task{linear.MultiLabel, linear.MultiClass} {
		cfg := DefaultConfig(task, d, k)
		cfg.Seed = 9
		head, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		x := vec.Tensor(tensor.Float32, n, d, batch(r, n, d))
		tg := targets(r, task, n, k)
		before, _ := head.State()
		probs, err := head.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		loss, lprobs, err := head.Loss(x, tg)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := head.State()
		if !bytes.Equal(before, after) {
			t.Errorf("%s: Predict or Loss changed the head's state", task)
		}
		res, err := head.Compute(x, tg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(probs, res.Scores) || !reflect.DeepEqual(lprobs, res.Scores) {
			t.Errorf("%s: Predict %v, Loss %v, Compute %v", task, probs, lprobs, res.Scores)
		}
		if math.Abs(loss-res.Loss) > 1e-12 {
			t.Errorf("%s: Loss %v, Compute %v", task, loss, res.Loss)
		}
		if task == linear.MultiClass {
			for i, row := range probs {
				var s float64
				for _, p := range row {
					s += float64(p)
				}
				if math.Abs(s-1) > 1e-5 {
					t.Errorf("softmax row %d sums to %v", i, s)
				}
			}
		}
	}
}

func TestLossErrors(t *testing.T) {
	head, _ := New(DefaultConfig(linear.MultiLabel, 2, 2))
	x := vec.Tensor(tensor.Float32, 1, 2, []float64{1, 2})
	nan := math.NaN()
	if _, _, err := head.Loss(x, Targets{Y: [][]float64{{nan, nan}}}); err == nil {
		t.Error("a batch without known labels has a loss")
	}
	if _, err := head.Predict(vec.Tensor(tensor.Float32, 1, 3, []float64{1, 2, 3})); err == nil {
		t.Error("Predict accepted features of the wrong width")
	}
	if got := head.Config(); got.In != 2 || got.Out != 2 || got.Task != linear.MultiLabel {
		t.Errorf("Config() = %+v", got)
	}
}
