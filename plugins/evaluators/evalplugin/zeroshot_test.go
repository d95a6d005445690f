package evalplugin

import (
	"context"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// handZeroShot is a zero-shot request worked out by hand. Prompts: "cat"
// (1, 0) and (2, 0), mean direction (1, 0); "dog" (0, 3), direction (0, 1).
// Images (1, 0), (0, 2), (3, 4), (4, 3), twice over, score (cat, dog) =
// (1, 0), (0, 1), (0.6, 0.8), (0.8, 0.6). With cat labels 1 0 1 0 the
// positives score 1 and 0.6, the negatives 0 and 0.8: 3 of 4 pairs are
// ordered, AUC 3/4; dog (labels 0 1 0 1) likewise. As classes cat, dog,
// cat, cat the argmax is right on 3 of 4: accuracy 3/4.
func handZeroShot(t *testing.T, task string) sdk.EvalRequest {
	names := []string{"cat", "dog"}
	imgs := [][]float32{{1, 0}, {0, 2}, {3, 4}, {4, 3}, {1, 0}, {0, 2}, {3, 4}, {4, 3}}
	var y [][]float32
	for range 2 {
		if task == "multiclass" {
			y = append(y, []float32{1, 0}, []float32{0, 1}, []float32{1, 0}, []float32{1, 0})
		} else {
			y = append(y, []float32{1, 0}, []float32{0, 1}, []float32{1, 0}, []float32{0, 1})
		}
	}
	prompts := fset(t, [][]float32{{0, 3}, {1, 0}, {2, 0}}, [][]float32{{0, 1}, {1, 0}, {1, 0}}, names)
	return sdk.EvalRequest{Protocol: "zeroshot", Params: map[string]any{"task": task},
		Splits: map[string]*sdk.FeatureSet{"test": fset(t, imgs, y, names), "prompts": prompts}}
}

func TestZeroShotMultiLabel(t *testing.T) {
	res, err := configured(t, NewZeroShot(), map[string]any{"bootstrap": 200}).Evaluate(context.Background(), handZeroShot(t, "multilabel"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"auc", "auc:cat", "auc:dog"} {
		s := scoreOf(t, res, m)
		checkScore(t, s, []uint64{0})
		if !near(s.Mean, 0.75, 1e-12) {
			t.Errorf("%s = %v, want 0.75", m, s.Mean)
		}
	}
	if len(res.Predictions) != 1 || res.Predictions[0].Name != "zeroshot" {
		t.Fatalf("predictions %+v", res.Predictions)
	}
	got, err := res.Predictions[0].Scores.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 0, 0, 1, 0.6, 0.8, 0.8, 0.6}
	for i, w := range want {
		if !near(float64(got[i]), w, 1e-6) || !near(float64(got[i+8]), w, 1e-6) {
			t.Errorf("score %d = %v, want %v", i, got[i], w)
		}
	}
	if len(res.Curves) != 2 || res.Curves[1].Name != "roc:dog" {
		t.Errorf("curves %+v", res.Curves)
	}
	// Positives 1, 0.6 against negatives 0.8, 0: the ROC steps through
	// (0, 1/2) at threshold 1, (1/2, 1/2) at 0.8, (1/2, 1) at 0.6, (1, 1).
	c := res.Curves[0]
	wantX, wantY := []float64{0, 0, 0.5, 0.5, 1}, []float64{0, 0.5, 0.5, 1, 1}
	for i := range wantX {
		if i >= len(c.X) || c.X[i] != wantX[i] || c.Y[i] != wantY[i] {
			t.Fatalf("roc:cat = %v / %v, want %v / %v", c.X, c.Y, wantX, wantY)
		}
	}
	if res.Metrics["test_examples"] != 8 || res.Metrics["prompts"] != 3 {
		t.Errorf("metrics %v", res.Metrics)
	}
}

func TestZeroShotMultiClassAndBinary(t *testing.T) {
	ev := configured(t, NewZeroShot(), map[string]any{"bootstrap": 200})
	res, err := ev.Evaluate(context.Background(), handZeroShot(t, "multiclass"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scores) != 2 {
		t.Errorf("scores %+v, want accuracy and auc", res.Scores)
	}
	if s := scoreOf(t, res, "accuracy"); !near(s.Mean, 0.75, 1e-12) {
		t.Errorf("accuracy %v, want 0.75", s.Mean)
	}
	// One-vs-rest: cat (positives 1, 0.6, 0.8 vs 0) 1; dog (positive 1 vs
	// 0, 0.8, 0.6) 1.
	if s := scoreOf(t, res, "auc"); !near(s.Mean, 1, 1e-12) {
		t.Errorf("auc %v, want 1", s.Mean)
	}

	// Binary: the one column "cat"; AUC 3/4 as above.
	req := handZeroShot(t, "binary")
	for _, fs := range req.Splits {
		y, _ := fs.Labels.Float32s()
		var col [][]float32
		for i := 0; i < len(y); i += 2 {
			col = append(col, []float32{y[i]})
		}
		fs.Labels, fs.LabelNames = mat(t, col), []string{"cat"}
	}
	req.Splits["prompts"] = fset(t, [][]float32{{1, 0}, {2, 0}}, [][]float32{{1}, {1}}, []string{"cat"})
	res, err = ev.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if s := scoreOf(t, res, "auc"); !near(s.Mean, 0.75, 1e-12) || len(res.Scores) != 2 {
		t.Errorf("binary auc %v (%d scores)", s.Mean, len(res.Scores))
	}
}

func TestZeroShotRejectsBadRequests(t *testing.T) {
	ev := NewZeroShot()
	with := func(edit func(*sdk.EvalRequest)) sdk.EvalRequest {
		r := handZeroShot(t, "multilabel")
		edit(&r)
		return r
	}
	names := []string{"cat", "dog"}
	cases := []struct {
		name      string
		req       sdk.EvalRequest
		fragments []string
	}{
		{"protocol", with(func(r *sdk.EvalRequest) { r.Protocol = "" }), []string{`protocol "" is not implemented`, `"zeroshot" only`}},
		{"no task", with(func(r *sdk.EvalRequest) { r.Params = nil }), []string{`"task" is required`}},
		{"no prompts", with(func(r *sdk.EvalRequest) { delete(r.Splits, "prompts") }), []string{`split "prompts" is missing`}},
		{"class without prompts", with(func(r *sdk.EvalRequest) {
			r.Splits["prompts"] = fset(t, [][]float32{{1, 0}}, [][]float32{{1, 0}}, names)
		}), []string{`split "prompts" has no prompt for class "dog"`}},
		{"prompt not one-hot", with(func(r *sdk.EvalRequest) {
			r.Splits["prompts"] = fset(t, [][]float32{{1, 0}}, [][]float32{{1, 1}}, names)
		}), []string{`split "prompts": row 0 has 2 labels set`}},
		{"names differ", with(func(r *sdk.EvalRequest) { r.Splits["prompts"].LabelNames = []string{"dog", "cat"} }), []string{`split "prompts" label 0 is "dog"`}},
		{"zero image", with(func(r *sdk.EvalRequest) {
			r.Splits["test"] = fset(t, [][]float32{{0, 0}, {1, 0}}, [][]float32{{0, 1}, {1, 0}}, names)
		}), []string{`"test"`, "image 0 embedding has norm 0"}},
		{"one class only", with(func(r *sdk.EvalRequest) {
			r.Splits["test"] = fset(t, [][]float32{{1, 1}, {1, 0}}, [][]float32{{1, 1}, {1, 1}}, names)
		}), []string{`score "auc" on split "test": no label has both positive and negative examples`}},
	}
	for _, c := range cases {
		wantErr(t, c.name, ev, c.req, c.fragments...)
	}
	if _, _, err := ev.Grad(context.Background(), nil, nil); err == nil {
		t.Error("Grad accepted")
	}
}
