package results

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func mustTensor(t *testing.T, shape []int64, v []float32) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromFloat32(shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestWritePredictionsLayouts: an evaluator's predictions read back in the
// layout of their task: per-label truths and scores (unknown truths without
// targets) or, for a multi-class task, the true class and a score per
// class.
func TestWritePredictionsLayouts(t *testing.T) {
	scores := []float32{0.25, 0.75, 0.5, 0.125}
	p := sdk.Predictions{Name: "seed-0", IDs: []string{"a", "b"}, Names: []string{"x", "y"},
		Scores: mustTensor(t, []int64{2, 2}, scores), Targets: mustTensor(t, []int64{2, 2}, []float32{0, 1, 1, 0})}

	var buf bytes.Buffer
	if err := WritePredictions(&buf, p, sdk.TaskMultilabel); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPredictions(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := &LabelPredictions{IDs: p.IDs, Labels: p.Names, Truth: [][]float64{{0, 1}, {1, 0}}, Scores: [][]float32{{0.25, 0.75}, {0.5, 0.125}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("multilabel: %+v, want %+v", got, want)
	}

	buf.Reset()
	if err := WritePredictions(&buf, p, sdk.TaskMulticlass); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadPredictions(&buf); err != nil {
		t.Fatal(err)
	}
	wantClass := &ClassPredictions{IDs: p.IDs, Classes: p.Names, Truth: []int{1, 0}, Scores: [][]float32{{0.25, 0.75}, {0.5, 0.125}}}
	if !reflect.DeepEqual(got, wantClass) {
		t.Errorf("multiclass: %+v, want %+v", got, wantClass)
	}

	p.Targets = nil
	buf.Reset()
	if err := WritePredictions(&buf, p, sdk.TaskBinary); err != nil {
		t.Fatal(err)
	}
	if got, err = ReadPredictions(&buf); err != nil {
		t.Fatal(err)
	}
	lp, ok := got.(*LabelPredictions)
	if !ok || !math.IsNaN(lp.Truth[0][0]) || !math.IsNaN(lp.Truth[1][1]) {
		t.Errorf("without targets the truths are unknown: %+v", got)
	}

	p.IDs = p.IDs[:1]
	if err := WritePredictions(&buf, p, sdk.TaskBinary); err == nil {
		t.Error("4 scores for 1 sample x 2 columns: no error")
	}
}

// TestScoresCarryTheBootstrapInterval: an evaluator's score becomes a
// results score with its test-set bootstrap interval.
func TestScoresCarryTheBootstrapInterval(t *testing.T) {
	got := Scores([]sdk.Score{{Metric: "auc", Seeds: []uint64{0, 1}, Values: []float64{0.5, 0.7}, CILo: 0.4, CIHi: 0.8}})
	want := []Score{{Metric: "auc", Seeds: []uint64{0, 1}, Values: []float64{0.5, 0.7}, TestBootstrap: stats.Interval{Lo: 0.4, Hi: 0.8}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
}
