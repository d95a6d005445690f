package evalplugin

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// TestFinetuneUnknownLabelsAndErrors covers an all-unknown batch and the
// checks of every entry point.
func TestFinetuneUnknownLabelsAndErrors(t *testing.T) {
	ctx := context.Background()
	nan := float32(math.NaN())
	ev := configured(t, NewFinetune(), headConfig("multilabel", 2, 2, 0, 0.1))
	loss, g, err := ev.Grad(ctx, mat(t, [][]float32{{1, 2}}), mat(t, [][]float32{{nan, nan}}))
	if err != nil || loss != 0 || g == nil || g.DType != tensor.Float32 || !reflect.DeepEqual(g.Shape, []int64{1, 2}) {
		t.Errorf("all-unknown batch: loss %v grad %v err %v", loss, g, err)
	}
	x := mat(t, [][]float32{{1, 2}, {3, 4}})
	bad := map[string]struct {
		ev  sdk.Evaluator
		fn  func(sdk.Evaluator) error
		msg string
	}{
		"no head": {NewFinetune(), func(e sdk.Evaluator) error {
			_, _, err := e.Grad(ctx, x, mat(t, [][]float32{{1, 0}, {0, 1}}))
			return err
		}, "no head"},
		"label width": {ev, func(e sdk.Evaluator) error {
			_, _, err := e.Grad(ctx, x, mat(t, [][]float32{{1}, {0}}))
			return err
		}, "labels have shape"},
		"feature width": {ev, func(e sdk.Evaluator) error {
			_, _, err := e.Grad(ctx, mat(t, [][]float32{{1, 2, 3}}), mat(t, [][]float32{{1, 0}}))
			return err
		}, "features have shape"},
		"label value": {ev, func(e sdk.Evaluator) error {
			_, _, err := e.Grad(ctx, x, mat(t, [][]float32{{2, 0}, {0, 1}}))
			return err
		}, "want 0, 1 or NaN"},
		"not one-hot": {configured(t, NewFinetune(), headConfig("multiclass", 2, 2, 0, 0.1)), func(e sdk.Evaluator) error {
			_, _, err := e.Grad(ctx, x, mat(t, [][]float32{{1, 1}, {0, 1}}))
			return err
		}, "one-hot"},
	}
	for name, c := range bad {
		if err := c.fn(c.ev); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.msg)
		}
	}
	if err := NewFinetune().Configure(ctx, map[string]any{"task": "binary", "in": 2, "out": 2}); err == nil {
		t.Error("binary head with 2 outputs accepted")
	}
	if err := NewFinetune().Configure(ctx, map[string]any{"task": "ordinal", "in": 2, "out": 2}); err == nil {
		t.Error("unknown task accepted")
	}
	names := []string{"a", "b"}
	probs := func(ids ...string) *sdk.FeatureSet {
		return &sdk.FeatureSet{Features: mat(t, [][]float32{{0.1, 0.9}, {0.8, 0.3}}), Labels: mat(t, [][]float32{{0, 1}, {1, 0}}), IDs: ids, LabelNames: names}
	}
	score := func(splits map[string]*sdk.FeatureSet, seeds []int) sdk.EvalRequest {
		return sdk.EvalRequest{Protocol: sdk.ProtocolScore, Splits: splits, Params: map[string]any{"task": "multilabel", "seeds": seeds}}
	}
	wantErr(t, "ids differ", ev, score(map[string]*sdk.FeatureSet{"seed-0": probs("x", "y"), "seed-1": probs("x", "z")}, []int{0, 1}), `"seed-1"`, "same test examples")
	wantErr(t, "missing seed", ev, score(map[string]*sdk.FeatureSet{"seed-0": probs("x", "y")}, []int{0, 1}), `"seed-1" is missing`)
	wantErr(t, "extra split", ev, score(map[string]*sdk.FeatureSet{"seed-0": probs("x", "y"), "test": probs("x", "y")}, []int{0}), `"test"`)
	wantErr(t, "protocol", ev, sdk.EvalRequest{Protocol: "linear"}, `protocol "linear" is not implemented`, "predict")
	wantErr(t, "predict params", ev, sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Params: map[string]any{"k": 1},
		Splits: map[string]*sdk.FeatureSet{"test": probs()}}, `takes none, got "k"`)
	wantErr(t, "predict names", ev, sdk.EvalRequest{Protocol: sdk.ProtocolPredict,
		Splits: map[string]*sdk.FeatureSet{"test": {Features: x, Labels: mat(t, [][]float32{{1}, {0}}), LabelNames: []string{"a"}}}}, "label names")
}
