package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// zeroshotProtocol classifies test images by their nearest class prompt
// (docs/evaluators.md, protocol zeroshot).
var zeroshotProtocol = imageProtocol{onePerInit{}, (*evalRun).zeroshot}

// zeroshot scores test images against the recipe's class prompts. Only the
// classes with prompts are scored (the test labels are cut to them).
func (er *evalRun) zeroshot(ctx context.Context, init string, img encoder) error {
	l, err := er.labelled(ctx)
	if err != nil {
		return err
	}
	info := l.info
	test, err := er.s.features(ctx, img, er.data, l.test, sdk.OutputProjection, false)
	if err != nil {
		return err
	}
	classes, err := er.promptClasses(info.LabelNames)
	if err != nil {
		return err
	}
	if test, err = selectLabels(test, classes); err != nil {
		return err
	}
	txt, err := er.encoder(ctx, "text", init)
	if err != nil {
		return err
	}
	defer txt.client.Close()
	prompts, err := er.promptFeatures(ctx, txt.client, classes)
	if err != nil {
		return err
	}
	res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolZeroShot,
		Splits: map[string]*sdk.FeatureSet{sdk.SplitTest: test, sdk.SplitPrompts: prompts}, Params: map[string]any{"task": info.Task}})
	if err != nil {
		return err
	}
	if err := er.record(ctx, sdk.ProtocolZeroShot, init, 1, res, info.Task); err != nil {
		return err
	}
	er.bar.Add(1)
	return nil
}

// promptClasses returns the classes the recipe has prompts for, in the
// dataset's label order, checking each is a label of the dataset.
func (er *evalRun) promptClasses(labels []string) ([]string, error) {
	known := map[string]bool{}
	for _, l := range labels {
		known[l] = true
	}
	for c := range er.e.Prompts {
		if !known[c] {
			return nil, fmt.Errorf("prompts: class %q is not a label of dataset %q (labels: %v)", c, er.data.plugin, labels)
		}
	}
	var out []string
	for _, l := range labels {
		if len(er.e.Prompts[l]) > 0 {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("protocol zeroshot needs prompts: a list of texts per class")
	}
	return out, nil
}

// selectLabels cuts a feature set's label columns to names, in that order.
func selectLabels(fs *sdk.FeatureSet, names []string) (*sdk.FeatureSet, error) {
	col := map[string]int{}
	for i, l := range fs.LabelNames {
		col[l] = i
	}
	all, err := fs.Labels.Float32s()
	if err != nil {
		return nil, err
	}
	k := len(fs.LabelNames)
	n := len(all) / max(k, 1)
	out := make([]float32, 0, n*len(names))
	for i := 0; i < n; i++ {
		for _, name := range names {
			out = append(out, all[i*k+col[name]])
		}
	}
	l, err := tensor.FromFloat32([]int64{int64(n), int64(len(names))}, out)
	if err != nil {
		return nil, err
	}
	return &sdk.FeatureSet{Features: fs.Features, Labels: l, IDs: fs.IDs, LabelNames: names, Groups: fs.Groups}, nil
}

// promptFeatures encodes the prompts of classes, labelled one-hot by class.
func (er *evalRun) promptFeatures(ctx context.Context, enc *host.Encoder, classes []string) (*sdk.FeatureSet, error) {
	b := &sdk.Batch{}
	var labels []float32
	for ci, c := range classes {
		for i, p := range er.e.Prompts[c] {
			b.IDs = append(b.IDs, fmt.Sprintf("%s#%d", c, i))
			b.Texts = append(b.Texts, p)
			row := make([]float32, len(classes))
			row[ci] = 1
			labels = append(labels, row...)
		}
	}
	out, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: b, Output: sdk.OutputProjection})
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	l, err := tensor.FromFloat32([]int64{int64(len(b.IDs)), int64(len(classes))}, labels)
	if err != nil {
		return nil, err
	}
	return &sdk.FeatureSet{Features: out, Labels: l, IDs: b.IDs, LabelNames: classes}, nil
}
