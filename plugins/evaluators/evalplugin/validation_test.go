package evalplugin

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestLinearRejectsBadRequests(t *testing.T) {
	ev := configured(t, NewLinear(), map[string]any{"bootstrap": 20, "max_iter": 5})
	good := func() sdk.EvalRequest {
		return labelRequest(t, 9, true, map[string]any{"task": "multilabel", "fraction": 0.5, "seeds": []int{0}})
	}
	with := func(edit func(*sdk.EvalRequest)) sdk.EvalRequest {
		r := good()
		edit(&r)
		return r
	}
	param := func(k string, v any) sdk.EvalRequest {
		return with(func(r *sdk.EvalRequest) {
			if v == nil {
				delete(r.Params, k)
			} else {
				r.Params[k] = v
			}
		})
	}
	nan := float32(math.NaN())
	r := rand.New(rand.NewPCG(1, 1))
	_, y3 := synthLabels(r, 10, 6, 3, true)
	x4, y4 := synthLabels(r, 10, 4, 2, true)
	cases := []struct {
		name      string
		req       sdk.EvalRequest
		fragments []string
	}{
		{"protocol", with(func(r *sdk.EvalRequest) { r.Protocol = "retrieval" }), []string{`protocol "retrieval" is not implemented`, `"linear" only`}},
		{"no task", param("task", nil), []string{`"task" is required`}},
		{"bad task", param("task", "regression"), []string{`"task"`, `"regression"`}},
		{"no fraction", param("fraction", nil), []string{`"fraction" is required`}},
		{"fraction 0", param("fraction", 0.0), []string{`"fraction"`, "(0, 1]"}},
		{"fraction 1.5", param("fraction", 1.5), []string{`"fraction"`}},
		{"fraction string", param("fraction", "10%"), []string{`"fraction"`, `"10%"`}},
		{"no seeds", param("seeds", nil), []string{`"seeds" is required`}},
		{"empty seeds", param("seeds", []any{}), []string{`"seeds" is an empty list`}},
		{"negative seed", param("seeds", []any{-1.0}), []string{`"seeds"[0]`}},
		{"fractional seed", param("seeds", []any{1.0, 1.5}), []string{`"seeds"[1]`}},
		{"duplicate seed", param("seeds", []int{2, 2}), []string{`"seeds" lists 2 twice`}},
		{"seeds not a list", param("seeds", 3), []string{`"seeds" must be a list`}},
		{"unknown param", param("fractoin", 0.1), []string{`unknown "fractoin"`}},
		{"no train", with(func(r *sdk.EvalRequest) { delete(r.Splits, "train") }), []string{`split "train" is missing`, `"test"`}},
		{"no test", with(func(r *sdk.EvalRequest) { r.Splits["test"] = nil }), []string{`split "test" is missing`}},
		{"no features", with(func(r *sdk.EvalRequest) { r.Splits["train"].Features = nil }), []string{`split "train" features`, "missing"}},
		{"1-d features", with(func(r *sdk.EvalRequest) {
			r.Splits["test"].Features, _ = tensor.FromFloat32([]int64{4}, make([]float32, 4))
		}), []string{`split "test" features`, "2-d"}},
		{"int features", with(func(r *sdk.EvalRequest) {
			r.Splits["test"].Features, _ = tensor.FromInt64([]int64{1, 1}, []int64{1})
		}), []string{`split "test" features`, "dtype"}},
		{"corrupt tensor", with(func(r *sdk.EvalRequest) { r.Splits["test"].Labels.Data = r.Splits["test"].Labels.Data[:3] }), []string{`split "test" labels`, "bytes"}},
		{"label rows", with(func(r *sdk.EvalRequest) { r.Splits["test"].Labels = mat(t, y3) }), []string{`split "test" has 10 label rows for 300 feature rows`}},
		{"label names", with(func(r *sdk.EvalRequest) { r.Splits["train"].LabelNames = []string{"Edema"} }), []string{`split "train" has 2 label columns but 1 label names`}},
		{"names differ", with(func(r *sdk.EvalRequest) { r.Splits["test"].LabelNames = []string{"Atelectasis", "Edema"} }), []string{`split "test" label 0 is "Atelectasis"`, `split "train" has "Edema"`}},
		{"duplicate names", with(func(r *sdk.EvalRequest) { r.Splits["test"].LabelNames = []string{"Edema", "Edema"} }), []string{`split "test" names label "Edema" twice`}},
		{"dims differ", with(func(r *sdk.EvalRequest) { r.Splits["test"] = fset(t, x4, y4, []string{"Edema", "Atelectasis"}) }),
			[]string{`split "test" has 4-dimensional features, split "train" has 6`}},
		{"NaN feature", with(func(r *sdk.EvalRequest) {
			v, _ := r.Splits["train"].Features.Float32s()
			v[6*4+2] = nan
			r.Splits["train"].Features, _ = tensor.FromFloat32([]int64{600, 6}, v)
		}), []string{`split "train" features: row 4 column 2 is NaN`}},
		{"label 2", with(func(r *sdk.EvalRequest) {
			v, _ := r.Splits["test"].Labels.Float32s()
			v[3] = 2
			r.Splits["test"].Labels, _ = tensor.FromFloat32([]int64{300, 2}, v)
		}), []string{`split "test": row 1 label "Atelectasis" is 2`}},
		{"binary with two labels", param("task", "binary"), []string{"binary task has one label column", `"train"`}},
		{"multiclass not one-hot", param("task", "multiclass"), []string{`split "train": row`, "one-hot"}},
		{"ids", with(func(r *sdk.EvalRequest) { r.Splits["test"].IDs = r.Splits["test"].IDs[:5] }), []string{`split "test" has 5 ids for 300 rows`}},
		{"empty split", with(func(r *sdk.EvalRequest) { r.Splits["val"] = fset(t, nil, nil, []string{"Edema", "Atelectasis"}) }), []string{`split "val"`, "at least one example"}},
	}
	for _, c := range cases {
		wantErr(t, c.name, ev, c.req, c.fragments...)
	}
}

// TestNoInternalErrors throws malformed requests at every plugin: each must
// answer with an error (or a result), never a recovered panic.
func TestNoInternalErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	plugins := []struct {
		ev   sdk.Evaluator
		good func() sdk.EvalRequest
	}{
		{configured(t, NewLinear(), map[string]any{"bootstrap": 10, "max_iter": 3}), func() sdk.EvalRequest {
			return labelRequest(t, 13, true, map[string]any{"task": "multilabel", "fraction": 0.01, "seeds": []int{0}})
		}},
		{configured(t, NewRetrieval(), map[string]any{"bootstrap": 10}), func() sdk.EvalRequest { return handRetrieval(t) }},
		{configured(t, NewZeroShot(), map[string]any{"bootstrap": 10}), func() sdk.EvalRequest { return handZeroShot(t, "multiclass") }},
	}
	empty := func(rows, cols int64) *tensor.Tensor {
		x, _ := tensor.FromFloat32([]int64{rows, cols}, make([]float32, rows*cols))
		return x
	}
	mutations := []func(fs *sdk.FeatureSet, p map[string]any){
		func(fs *sdk.FeatureSet, _ map[string]any) { fs.Features = empty(fs.Features.Shape[0], 0) },
		func(fs *sdk.FeatureSet, _ map[string]any) {
			fs.Labels, fs.LabelNames = empty(fs.Labels.Shape[0], 0), nil
		},
		func(fs *sdk.FeatureSet, _ map[string]any) { fs.LabelNames = nil },
		func(fs *sdk.FeatureSet, _ map[string]any) { fs.IDs = nil },
		func(fs *sdk.FeatureSet, _ map[string]any) { *fs = sdk.FeatureSet{} },
		func(fs *sdk.FeatureSet, _ map[string]any) { fs.Labels = empty(fs.Labels.Shape[0], fs.Labels.Shape[1]) },
		func(fs *sdk.FeatureSet, _ map[string]any) {
			fs.Features = empty(fs.Features.Shape[0], fs.Features.Shape[1])
		},
		func(fs *sdk.FeatureSet, _ map[string]any) {
			v, _ := fs.Features.Float64s()
			fs.Features, _ = tensor.FromFloat64s(tensor.Float64, fs.Features.Shape, v)
		},
		func(_ *sdk.FeatureSet, p map[string]any) {
			for k := range p {
				p[k] = map[string]any{"x": nil}
			}
		},
		func(_ *sdk.FeatureSet, p map[string]any) {
			for k := range p {
				p[k] = nil
			}
		},
	}
	for _, pl := range plugins {
		for i := 0; i < 60; i++ {
			req := pl.good()
			if req.Params == nil {
				req.Params = map[string]any{}
			}
			var names []string
			for n := range req.Splits {
				names = append(names, n)
			}
			for j := 0; j < 1+r.IntN(2); j++ {
				fs := req.Splits[names[r.IntN(len(names))]]
				if fs.Features == nil || fs.Labels == nil {
					continue
				}
				mutations[r.IntN(len(mutations))](fs, req.Params)
			}
			if _, err := pl.ev.Evaluate(context.Background(), req); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Errorf("request %d: %v", i, err)
			}
		}
	}
}
