package plugintest

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Ramp is a dataset whose sample i is an HxW image filled with i, the text
// "sample i" and the label i%2.
type Ramp struct{ H, W int }

// Info implements sdk.Plugin.
func (Ramp) Info(context.Context) (sdk.Info, error) { return sdk.Info{Name: "ramp", Version: "1"}, nil }

// Configure implements sdk.Plugin.
func (Ramp) Configure(context.Context, map[string]any) error { return nil }

// Close implements sdk.Plugin.
func (Ramp) Close() error { return nil }

// Splits implements sdk.Dataset.
func (Ramp) Splits(context.Context) ([]string, error) { return []string{"train"}, nil }

// Describe implements sdk.Dataset.
func (Ramp) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	if split != "train" {
		return sdk.SplitInfo{}, fmt.Errorf("no split %q", split)
	}
	return sdk.SplitInfo{Name: split, Len: 1000, LabelNames: []string{"odd"}, Task: sdk.TaskBinary}, nil
}

// Batch implements sdk.Dataset.
func (r Ramp) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	n, px := len(req.Indices), r.H*r.W
	img, lab := make([]float32, n*px), make([]float32, n)
	b := &sdk.Batch{LabelNames: []string{"odd"}}
	for k, i := range req.Indices {
		for j := range px {
			img[k*px+j] = float32(i)
		}
		lab[k] = float32(i % 2)
		b.IDs = append(b.IDs, fmt.Sprint(i))
		b.Texts = append(b.Texts, fmt.Sprint("sample ", i))
	}
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{int64(n), 1, int64(r.H), int64(r.W)}, img); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{int64(n), 1}, lab)
	return b, err
}

// Echo is an evaluator: Evaluate reports the number of test samples and
// returns the test features as prediction scores; Grad returns
// loss = sum(features*labels) and grad = labels.
type Echo struct{}

// Info implements sdk.Plugin.
func (Echo) Info(context.Context) (sdk.Info, error) { return sdk.Info{Name: "echo", Version: "1"}, nil }

// Configure implements sdk.Plugin.
func (Echo) Configure(context.Context, map[string]any) error { return nil }

// Close implements sdk.Plugin.
func (Echo) Close() error { return nil }

// Evaluate implements sdk.Evaluator.
func (Echo) Evaluate(_ context.Context, req sdk.EvalRequest) (sdk.EvalResult, error) {
	test, ok := req.Splits["test"]
	if !ok {
		return sdk.EvalResult{}, fmt.Errorf("protocol %s needs a test split", req.Protocol)
	}
	return sdk.EvalResult{
		Metrics:     map[string]float64{"n": float64(len(test.IDs)), "k": req.Params["k"].(float64)},
		Scores:      []sdk.Score{{Metric: "auc", Mean: 0.75, Std: 0.05, CILo: 0.7, CIHi: 0.8, Seeds: []uint64{0, 1}, Values: []float64{0.7, 0.8}}},
		Predictions: []sdk.Predictions{{Name: "seed-0", IDs: test.IDs, Scores: test.Features, Targets: test.Labels, Names: test.LabelNames}},
		Curves:      []sdk.Curve{{Name: "roc", XLabel: "fpr", YLabel: "tpr", X: []float64{0, 1}, Y: []float64{0, 1}}},
	}, nil
}

// Grad implements sdk.Evaluator.
func (Echo) Grad(_ context.Context, f, l *tensor.Tensor) (float64, *tensor.Tensor, error) {
	a, err := f.Float32s()
	if err != nil {
		return 0, nil, err
	}
	b, err := l.Float32s()
	if err != nil {
		return 0, nil, err
	}
	var s float64
	for i := range a {
		s += float64(a[i] * b[i])
	}
	return s, l, nil
}
