package evalplugin

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
)

// labelRequest is a linear request on synthetic multi-label data.
func labelRequest(t *testing.T, seed uint64, signal bool, params map[string]any) sdk.EvalRequest {
	r := rand.New(rand.NewPCG(seed, 1))
	names := []string{"Edema", "Atelectasis"}
	trx, try := synthLabels(r, 600, 6, 2, signal)
	tex, tey := synthLabels(r, 300, 6, 2, signal)
	return sdk.EvalRequest{Protocol: "linear", Params: params,
		Splits: map[string]*sdk.FeatureSet{"train": fset(t, trx, try, names), "test": fset(t, tex, tey, names)}}
}

func TestLinearSignalAndNoise(t *testing.T) {
	ev := configured(t, NewLinear(), map[string]any{"bootstrap": 200})
	ctx := context.Background()
	params := map[string]any{"task": "multilabel", "fraction": 0.5, "seeds": []any{0.0, 1.0}}
	res, err := ev.Evaluate(ctx, labelRequest(t, 1, true, params))
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{0, 1}
	for _, m := range []string{"auc", "auc:Edema", "auc:Atelectasis"} {
		s := scoreOf(t, res, m)
		checkScore(t, s, seeds)
		if s.Mean < 0.9 {
			t.Errorf("signal: %s = %v, want near 1", m, s.Mean)
		}
	}
	if len(res.Scores) != 3 {
		t.Errorf("%d scores, want auc and one per label", len(res.Scores))
	}
	if len(res.Predictions) != 2 || res.Predictions[0].Name != "seed-0" || res.Predictions[1].Name != "seed-1" {
		t.Fatalf("predictions %+v", res.Predictions)
	}
	p := res.Predictions[1]
	if got := p.Scores.Shape; got[0] != 300 || got[1] != 2 || p.IDs[299] != "img-299" || p.Names[1] != "Atelectasis" || p.Targets == nil {
		t.Errorf("predictions shape %v ids %d names %v", got, len(p.IDs), p.Names)
	}
	if len(res.Curves) != 2 || res.Curves[0].Name != "roc:Edema" || res.Curves[0].XLabel != "fpr" || res.Curves[0].YLabel != "tpr" {
		t.Fatalf("curves %+v", res.Curves)
	}
	if c := res.Curves[1]; c.X[0] != 0 || c.Y[0] != 0 || c.X[len(c.X)-1] != 1 || c.Y[len(c.Y)-1] != 1 {
		t.Errorf("ROC curve does not run from (0,0) to (1,1)")
	}
	// 10% of 600 held out (stratified, at least round(0.1*class size) per class).
	if v := res.Metrics["val_examples"]; v < 60 || v > 64 || res.Metrics["train_examples"] != 600-v || res.Metrics["test_examples"] != 300 {
		t.Errorf("metrics %v", res.Metrics)
	}

	noise, err := ev.Evaluate(ctx, labelRequest(t, 2, false, params))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("signal auc %+v", scoreOf(t, res, "auc"))
	t.Logf("noise auc %+v", scoreOf(t, noise, "auc"))
	if s := scoreOf(t, noise, "auc"); math.Abs(s.Mean-0.5) > 0.1 || !(s.CILo < 0.5 && 0.5 < s.CIHi+0.05) {
		t.Errorf("noise: auc %v [%v, %v], want near 0.5", s.Mean, s.CILo, s.CIHi)
	}
}

func TestLinearMulticlass(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	names := []string{"normal", "pneumonia", "COVID-19"}
	trx, try := synthClasses(r, 450, 5, 3)
	vx, vy := synthClasses(r, 90, 5, 3)
	tex, tey := synthClasses(r, 300, 5, 3)
	req := sdk.EvalRequest{Protocol: "linear", Params: map[string]any{"task": "multiclass", "fraction": 0.2, "seeds": []int{4, 9, 11}},
		Splits: map[string]*sdk.FeatureSet{"train": fset(t, trx, try, names), "val": fset(t, vx, vy, names), "test": fset(t, tex, tey, names)}}
	res, err := configured(t, NewLinear(), map[string]any{"bootstrap": 100}).Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scores) != 2 {
		t.Errorf("scores %+v, want accuracy and auc", res.Scores)
	}
	acc, auc := scoreOf(t, res, "accuracy"), scoreOf(t, res, "auc")
	checkScore(t, acc, []uint64{4, 9, 11})
	checkScore(t, auc, []uint64{4, 9, 11})
	t.Logf("accuracy %+v", acc)
	// Classes 3 standard deviations apart: the Bayes accuracy is about 0.93.
	if acc.Mean < 0.85 || auc.Mean < 0.95 || acc.Std <= 0 {
		t.Errorf("accuracy %v (std %v), auc %v", acc.Mean, acc.Std, auc.Mean)
	}
	if len(res.Curves) != 3 || res.Curves[2].Name != "roc:COVID-19" {
		t.Errorf("curves %d", len(res.Curves))
	}
	if res.Metrics["val_examples"] != 90 || res.Metrics["train_examples"] != 450 {
		t.Errorf("with a val split nothing is held out: %v", res.Metrics)
	}
	// Probabilities of each example sum to one.
	v, _ := res.Predictions[0].Scores.Float32s()
	if s := v[0] + v[1] + v[2]; math.Abs(float64(s)-1) > 1e-5 {
		t.Errorf("softmax row sums to %v", s)
	}
}

func TestLinearSubsetSizesFollowFraction(t *testing.T) {
	req := labelRequest(t, 5, true, nil)
	// The pool the subsets are drawn from: train less the held-out rows.
	train, err := getSplit(req, "train")
	if err != nil {
		t.Fatal(err)
	}
	valIdx, _ := subset.Stratified(train.labelRows(), 0.2, 7)
	held := map[int]bool{}
	for _, i := range valIdx {
		held[i] = true
	}
	var pool [][]float32
	for i, row := range train.labelRows() {
		if !held[i] {
			pool = append(pool, row)
		}
	}
	ev := configured(t, NewLinear(), map[string]any{"bootstrap": 50, "val_fraction": 0.2, "val_seed": 7, "max_iter": 30})
	for _, f := range []float64{0.05, 0.25, 1} {
		req.Params = map[string]any{"task": "multilabel", "fraction": f, "seeds": []int{1, 2}}
		res, err := ev.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for _, seed := range []int64{1, 2} {
			idx, _ := subset.Stratified(pool, f, seed)
			want += float64(len(idx)) / 2
		}
		m := res.Metrics
		if m["val_examples"] != float64(len(valIdx)) || m["train_examples"] != float64(len(pool)) || m["subset_examples"] != want {
			t.Errorf("fraction %v: metrics %v, want %d val, %d pool, %v subset", f, m, len(valIdx), len(pool), want)
		}
		if lo, hi := f*float64(len(pool)), f*float64(len(pool))+3; want < lo || want > hi {
			t.Errorf("fraction %v: subset of %v from %d", f, want, len(pool))
		}
	}
}

func TestLinearRepeatable(t *testing.T) {
	params := map[string]any{"task": "multilabel", "fraction": 0.3, "seeds": []int{3, 4}}
	run := func(p map[string]any) sdk.EvalResult {
		res, err := configured(t, NewLinear(), map[string]any{"bootstrap": 100}).Evaluate(context.Background(), labelRequest(t, 6, true, p))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(params), run(params)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same request gave different results")
	}
	c := run(map[string]any{"task": "multilabel", "fraction": 0.3, "seeds": []int{3, 5}})
	if a.Scores[0].Values[0] != c.Scores[0].Values[0] || a.Scores[0].Values[1] == c.Scores[0].Values[1] {
		t.Errorf("seed 3 should repeat and seed 4 differ from 5: %v vs %v", a.Scores[0].Values, c.Scores[0].Values)
	}
}

func TestLinearBinaryWithUnknownLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	x, y := synthLabels(r, 400, 4, 1, true)
	for i := 0; i < len(y); i += 7 {
		y[i][0] = float32(math.NaN())
	}
	names := []string{"Pneumonia"}
	req := sdk.EvalRequest{Protocol: "linear", Params: map[string]any{"task": "binary", "fraction": 1.0, "seeds": []int{0}},
		Splits: map[string]*sdk.FeatureSet{"train": fset(t, x[:250], y[:250], names), "test": fset(t, x[250:], y[250:], names)}}
	res, err := configured(t, NewLinear(), map[string]any{"bootstrap": 100}).Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if s := scoreOf(t, res, "auc"); s.Mean < 0.9 || s.Std != 0 || s.Values[0] != scoreOf(t, res, "auc:Pneumonia").Values[0] {
		t.Errorf("auc %+v", s)
	}
}

func TestLinearConfig(t *testing.T) {
	ctx := context.Background()
	info, err := NewLinear().Info(ctx)
	if err != nil || info.Name != "linear" || info.Kind != sdk.KindEvaluator {
		t.Fatalf("info %+v %v", info, err)
	}
	// Every documented key is accepted with its default, and the defaults
	// pass the schema.
	defaults := map[string]any{}
	for _, f := range info.Schema.Fields {
		defaults[f.Name] = f.Default
	}
	if issues := info.Schema.Check("", defaults); len(issues) > 0 {
		t.Errorf("defaults fail the schema: %+v", issues)
	}
	ev := configured(t, NewLinear(), defaults)
	if !reflect.DeepEqual(ev.cfg, DefaultLinearConfig()) {
		t.Errorf("configured defaults %+v, want %+v", ev.cfg, DefaultLinearConfig())
	}
	for _, bad := range []map[string]any{{"epochs": 5}, {"val_fraction": 0.9}, {"bootstrap": 3}, {"max_iter": 0}, {"l2": -1.0},
		{"l2_grid": []any{}}, {"l2_grid": []any{1.0, 0.0}}, {"weight_decay": 0.1}, {"patience": 20}} {
		if err := NewLinear().Configure(ctx, bad); err == nil {
			t.Errorf("config %v accepted", bad)
		}
	}
	_, _, err = ev.Grad(ctx, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not supported by protocol linear") {
		t.Errorf("Grad: %v", err)
	}
}

// TestLinearProbeProvenance: the result reports each seed's chosen L2
// strength, that it was chosen on validation data, and no unconverged
// probe; at 100% of the labels the deterministic probe gives every seed
// the same value.
func TestLinearProbeProvenance(t *testing.T) {
	ev := configured(t, NewLinear(), map[string]any{"bootstrap": 50, "l2_grid": []any{10.0, 0.1, 0.001}})
	params := map[string]any{"task": "multilabel", "fraction": 1.0, "seeds": []int{0, 7}}
	res, err := ev.Evaluate(context.Background(), labelRequest(t, 8, true, params))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	for _, seed := range []uint64{0, 7} {
		if l2, ok := m[sdk.ProbeL2Key(seed)]; !ok || (l2 != 10 && l2 != 0.1 && l2 != 0.001) {
			t.Errorf("seed %d: l2 %v (%v), want one of the grid", seed, l2, ok)
		}
	}
	if m[sdk.ProbeSelectedKey] != 1 || m[sdk.ProbeUnconvergedKey] != 0 {
		t.Errorf("metrics %v", m)
	}
	if v := scoreOf(t, res, "auc").Values; v[0] != v[1] {
		t.Errorf("100%% of the labels, deterministic probe: seeds gave %v", v)
	}
	// Without validation data: the default strength 1/n, not selected.
	ev = configured(t, NewLinear(), map[string]any{"bootstrap": 50, "val_fraction": 0.0})
	res, err = ev.Evaluate(context.Background(), labelRequest(t, 8, true, map[string]any{"task": "multilabel", "fraction": 1.0, "seeds": []int{0}}))
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Metrics; m[sdk.ProbeSelectedKey] != 0 || m[sdk.ProbeL2Key(0)] != 1.0/600 {
		t.Errorf("no validation: metrics %v", m)
	}
}

// TestLinearDegenerateProbe: test features that are all the same get
// constant scores; the evaluator fails naming the seed and the label
// instead of reporting an AUC of 0.5.
func TestLinearDegenerateProbe(t *testing.T) {
	req := labelRequest(t, 9, true, map[string]any{"task": "multilabel", "fraction": 0.5, "seeds": []int{4}})
	test := req.Splits["test"]
	n := int(test.Features.Shape[0])
	d := int(test.Features.Shape[1])
	same := make([][]float32, n)
	for i := range same {
		same[i] = make([]float32, d)
	}
	labels, err := test.Labels.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = labels[i*2 : i*2+2]
	}
	req.Splits["test"] = fset(t, same, rows, test.LabelNames)
	_, err = configured(t, NewLinear(), map[string]any{"bootstrap": 50}).Evaluate(context.Background(), req)
	if !errors.Is(err, linear.ErrDegenerate) || !strings.Contains(err.Error(), "seed 4") || !strings.Contains(err.Error(), `label "Edema"`) {
		t.Errorf("constant test scores: %v", err)
	}
}
