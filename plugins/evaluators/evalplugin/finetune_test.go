package evalplugin

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// headConfig is a finetune config as the host sends it for one probe.
func headConfig(task string, in, out int, seed uint64, lr float64) map[string]any {
	return map[string]any{"task": task, "in": in, "out": out, "seed": seed, "lr": lr, "bootstrap": 100}
}

// mat64 packs rows as a 2-d float64 tensor.
func mat64(t *testing.T, rows [][]float64) *tensor.Tensor {
	t.Helper()
	var flat []float64
	for _, r := range rows {
		flat = append(flat, r...)
	}
	m, err := tensor.FromFloat64s(tensor.Float64, []int64{int64(len(rows)), int64(len(rows[0]))}, flat)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// predictLoss is the head's mean loss on x and y through protocol predict.
func predictLoss(t *testing.T, ev sdk.Evaluator, x, y *tensor.Tensor, names []string) float64 {
	t.Helper()
	res, err := ev.Evaluate(context.Background(), sdk.EvalRequest{Protocol: sdk.ProtocolPredict,
		Splits: map[string]*sdk.FeatureSet{"val": {Features: x, Labels: y, LabelNames: names}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Metrics["loss"]
}

// TestFinetuneGradFiniteDifferences checks Grad's gradient with respect to
// the features against central differences of the loss that "predict"
// reports, for sigmoid (with an unknown label) and softmax heads. With lr
// 0 the head's step leaves it unchanged.
func TestFinetuneGradFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 5))
	const n, d, k, h = 5, 4, 3, 1e-6
	names := []string{"a", "b", "c"}
	for _, task := range []string{"multilabel", "multiclass"} {
		ev := configured(t, NewFinetune(), headConfig(task, d, k, 7, 0))
		x, y := make([][]float64, n), make([][]float64, n)
		for i := range x {
			x[i], y[i] = make([]float64, d), make([]float64, k)
			for j := range x[i] {
				x[i][j] = r.NormFloat64()
			}
			if task == "multiclass" {
				y[i][r.IntN(k)] = 1
				continue
			}
			for c := range y[i] {
				y[i][c] = float64(r.IntN(2))
			}
		}
		if task == "multilabel" {
			y[1][2] = math.NaN()
		}
		labels := mat64(t, y)
		loss, grad, err := ev.Grad(ctx, mat64(t, x), labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := predictLoss(t, ev, mat64(t, x), labels, names); math.Abs(got-loss) > 1e-12 {
			t.Errorf("%s: Grad loss %v, predict loss %v", task, loss, got)
		}
		g, _ := grad.Float64s()
		if grad.DType != tensor.Float64 || len(g) != n*d {
			t.Fatalf("%s: gradient %s %v", task, grad.DType, grad.Shape)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				old := x[i][j]
				x[i][j] = old + h
				lp := predictLoss(t, ev, mat64(t, x), labels, names)
				x[i][j] = old - h
				lm := predictLoss(t, ev, mat64(t, x), labels, names)
				x[i][j] = old
				if fd := (lp - lm) / (2 * h); math.Abs(fd-g[i*d+j]) > 1e-7 {
					t.Errorf("%s: dL/dx[%d][%d] = %v, finite difference %v", task, i, j, g[i*d+j], fd)
				}
			}
		}
	}
}

// TestFinetuneTrainingThroughGrad trains a head through Grad alone on
// separable features: the validation loss falls, the test AUC is high, and
// the same seed gives the same head.
func TestFinetuneTrainingThroughGrad(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(8, 8))
	names := []string{"Edema", "Atelectasis"}
	trx, try := synthLabels(r, 256, 6, 2, true)
	tex, tey := synthLabels(r, 200, 6, 2, true)
	test := fset(t, tex, tey, names)
	ev := configured(t, NewFinetune(), headConfig("multilabel", 6, 2, 3, 0.05))
	before := predictLoss(t, ev, test.Features, test.Labels, names)
	for epoch := 0; epoch < 20; epoch++ {
		for lo := 0; lo < len(trx); lo += 32 {
			loss, grad, err := ev.Grad(ctx, mat(t, trx[lo:lo+32]), mat(t, try[lo:lo+32]))
			if err != nil || grad == nil || math.IsNaN(loss) {
				t.Fatalf("Grad: %v %v", loss, err)
			}
		}
	}
	after := predictLoss(t, ev, test.Features, test.Labels, names)
	if !(after < before/2) {
		t.Errorf("test loss %v before training, %v after", before, after)
	}
	res, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{"test": test}})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.Predictions[0]
	sc, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolScore, Params: map[string]any{"task": "multilabel", "seeds": []int{3}},
		Splits: map[string]*sdk.FeatureSet{"seed-3": {Features: pr.Scores, Labels: pr.Targets, IDs: pr.IDs, LabelNames: pr.Names}}})
	if err != nil {
		t.Fatal(err)
	}
	if auc := scoreOf(t, sc, "auc"); auc.Mean < 0.95 {
		t.Errorf("test AUC after fine-tuning the head: %v", auc.Mean)
	}
	// Configure starts a fresh head: the same seed gives the same one.
	a := configured(t, NewFinetune(), headConfig("multilabel", 6, 2, 3, 0.05))
	if err := ev.Configure(ctx, headConfig("multilabel", 6, 2, 3, 0.05)); err != nil {
		t.Fatal(err)
	}
	if x, y := predictLoss(t, a, test.Features, test.Labels, names), predictLoss(t, ev, test.Features, test.Labels, names); x != y || x != before {
		t.Errorf("fresh heads of seed 3: losses %v and %v, first %v", x, y, before)
	}
}

// TestFinetuneScoreIsLinearAggregation feeds the linear evaluator's
// per-seed test predictions to "score": the scores, intervals and curves
// must be exactly linear's.
func TestFinetuneScoreIsLinearAggregation(t *testing.T) {
	ctx := context.Background()
	cfg := map[string]any{"bootstrap": 200, "bootstrap_seed": 4}
	for _, c := range []struct {
		task string
		req  sdk.EvalRequest
	}{
		{"multilabel", labelRequest(t, 21, true, map[string]any{"task": "multilabel", "fraction": 0.3, "seeds": []int{0, 4}})},
		{"multiclass", classRequest(t)},
	} {
		lin, err := configured(t, NewLinear(), cfg).Evaluate(ctx, c.req)
		if err != nil {
			t.Fatal(err)
		}
		splits := map[string]*sdk.FeatureSet{}
		var seeds []any
		for _, p := range lin.Predictions {
			splits[p.Name] = &sdk.FeatureSet{Features: p.Scores, Labels: p.Targets, IDs: p.IDs, LabelNames: p.Names}
		}
		for _, s := range lin.Scores[0].Seeds {
			seeds = append(seeds, s)
		}
		got, err := configured(t, NewFinetune(), cfg).Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolScore, Splits: splits,
			Params: map[string]any{"task": c.task, "seeds": seeds}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Scores, lin.Scores) || !reflect.DeepEqual(got.Curves, lin.Curves) {
			t.Errorf("%s: score %+v, linear %+v", c.task, got.Scores, lin.Scores)
		}
		if len(got.Predictions) != len(lin.Predictions) || got.Predictions[1].Name != lin.Predictions[1].Name {
			t.Errorf("%s: predictions %d, linear %d", c.task, len(got.Predictions), len(lin.Predictions))
		}
		if got.Metrics["test_examples"] != lin.Metrics["test_examples"] {
			t.Errorf("%s: metrics %v, linear %v", c.task, got.Metrics, lin.Metrics)
		}
	}
}

// classRequest is a linear request on synthetic 3-class data.
func classRequest(t *testing.T) sdk.EvalRequest {
	r := rand.New(rand.NewPCG(22, 1))
	names := []string{"normal", "pneumonia", "COVID-19"}
	trx, try := synthClasses(r, 300, 5, 3)
	tex, tey := synthClasses(r, 150, 5, 3)
	return sdk.EvalRequest{Protocol: "linear", Params: map[string]any{"task": "multiclass", "fraction": 0.5, "seeds": []int{1, 2}},
		Splits: map[string]*sdk.FeatureSet{"train": fset(t, trx, try, names), "test": fset(t, tex, tey, names)}}
}

// TestFinetuneSnapshotRestore checks that "restore" brings back the head
// "snapshot" kept, and that Configure drops the snapshot.
func TestFinetuneSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 9))
	names := []string{"a"}
	x, y := synthLabels(r, 64, 3, 1, true)
	ev := configured(t, NewFinetune(), headConfig("binary", 3, 1, 0, 0.1))
	snap := sdk.EvalRequest{Protocol: sdk.ProtocolSnapshot}
	if _, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err == nil {
		t.Error("restore without a snapshot accepted")
	}
	if _, err := ev.Evaluate(ctx, snap); err != nil {
		t.Fatal(err)
	}
	kept := predictLoss(t, ev, mat(t, x), mat(t, y), names)
	for i := 0; i < 5; i++ {
		if _, _, err := ev.Grad(ctx, mat(t, x), mat(t, y)); err != nil {
			t.Fatal(err)
		}
	}
	if moved := predictLoss(t, ev, mat(t, x), mat(t, y), names); moved == kept {
		t.Fatal("training did not change the head")
	}
	if _, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err != nil {
		t.Fatal(err)
	}
	if back := predictLoss(t, ev, mat(t, x), mat(t, y), names); back != kept {
		t.Errorf("restored head loss %v, snapshot %v", back, kept)
	}
	if err := ev.Configure(ctx, headConfig("binary", 3, 1, 0, 0.1)); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err == nil {
		t.Error("a snapshot survived Configure")
	}
}
