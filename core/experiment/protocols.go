package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// labelSplits picks the train, validation and test splits of a labelled
// dataset: "train"; "test" when present, else "valid" or "validate" as the
// test set (CheXpert's and MURA's convention), in which case validation is
// left to the evaluator (held out of train).
func labelSplits(ctx context.Context, d *host.Dataset) (trainSplit, valSplit, testSplit string, err error) {
	names, err := d.Splits(ctx)
	if err != nil {
		return "", "", "", err
	}
	has := map[string]bool{}
	for _, n := range names {
		if info, err := d.Describe(ctx, n); err == nil && info.Len > 0 {
			has[n] = true
		}
	}
	if !has["train"] {
		return "", "", "", fmt.Errorf("the dataset has no non-empty train split (splits: %v)", names)
	}
	val := ""
	for _, v := range []string{"valid", "validate", "val"} {
		if has[v] {
			val = v
			break
		}
	}
	switch {
	case has["test"]:
		return "train", val, "test", nil
	case val != "":
		return "train", "", val, nil
	}
	return "", "", "", fmt.Errorf("the dataset has no test, valid or validate split to test on (splits: %v)", names)
}

// linear probes the image encoder's features at every label fraction.
func (er *evalRun) linear(ctx context.Context, init string, img encoder) error {
	trainSplit, valSplit, testSplit, err := labelSplits(ctx, er.data.client)
	if err != nil {
		return err
	}
	info, err := er.data.client.Describe(ctx, testSplit)
	if err != nil {
		return err
	}
	splits := map[string]*sdk.FeatureSet{}
	for _, rs := range [][2]string{{sdk.SplitTrain, trainSplit}, {sdk.SplitVal, valSplit}, {sdk.SplitTest, testSplit}} {
		role, name := rs[0], rs[1]
		if name == "" {
			continue
		}
		if splits[role], err = er.s.features(ctx, img, er.data, name, sdk.OutputFeatures, false); err != nil {
			return err
		}
	}
	seeds := make([]any, len(er.e.Seeds))
	for i, s := range er.e.Seeds {
		seeds[i] = s
	}
	for _, f := range er.e.Fractions {
		res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolLinear, Splits: splits,
			Params: map[string]any{"task": info.Task, "fraction": f, "seeds": seeds}})
		if err != nil {
			return fmt.Errorf("fraction %v: %w", f, err)
		}
		if err := er.record(ctx, "linear", init, f, res, info.Task); err != nil {
			return err
		}
		er.bar.Add(1)
	}
	return nil
}

// retrievalOutput is the representation each retrieval protocol ranks by,
// the same for every init so that their rows are comparable.
//
// Image-image retrieval ("image") compares the image encoder's pooled
// features (sdk.OutputFeatures, before the projection head): every init
// has trained or inherited them, whereas only ConVIRT pretraining trains
// the projection head, so ranking by projections would send random and
// ImageNet encoders through an untrained random MLP. Text-image retrieval
// ("text") needs the shared space of the two projection heads, which
// exists only where they were trained together (textRetrievalInit).
var retrievalOutput = map[string]string{"image": sdk.OutputFeatures, "text": sdk.OutputProjection}

// textRetrievalInit is the one init whose image and text projection heads
// were trained together, the only one text-image retrieval is run for.
const textRetrievalInit = "convirt"

// retrieval ranks candidate images for image queries and, when the recipe
// has a text encoder and init is textRetrievalInit, for text queries, each
// in the representation retrievalOutput names.
func (er *evalRun) retrieval(ctx context.Context, init string, img encoder) error {
	names, err := er.data.client.Splits(ctx)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	ran, skippedText := false, false
	for _, q := range []string{"image", "text"} {
		cand, query := q+"-candidate", q+"-query"
		if !has[cand] || !has[query] || (q == "text" && er.s.r.TextEncoder == nil) {
			continue
		}
		if q == "text" && init != textRetrievalInit {
			// The image and text projection heads of this init were not
			// trained together: their similarities mean nothing.
			fmt.Fprintf(er.s.log, "retrieval %s: no text-image retrieval for init %s (its image and text projection heads were not trained together; only init %s has a shared space)\n",
				er.e.Name, init, textRetrievalInit)
			skippedText = true
			continue
		}
		out := retrievalOutput[q]
		c, err := er.s.features(ctx, img, er.data, cand, out, false)
		if err != nil {
			return err
		}
		qenc := img
		if q == "text" {
			if qenc, err = er.encoder(ctx, "text", init); err != nil {
				return err
			}
		}
		qs, err := er.s.features(ctx, qenc, er.data, query, out, q == "text")
		if q == "text" {
			qenc.client.Close()
		}
		if err != nil {
			return err
		}
		res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRetrieval,
			Splits: map[string]*sdk.FeatureSet{sdk.SplitCandidates: c, sdk.SplitQueries: qs}, Params: map[string]any{}})
		if err != nil {
			return fmt.Errorf("%s queries: %w", q, err)
		}
		if err := er.record(ctx, "retrieval-"+q, init, 1, res, ""); err != nil {
			return err
		}
		ran = true
	}
	switch {
	case !ran && skippedText:
		return fmt.Errorf("dataset %q has only text-candidate/text-query splits, and text-image retrieval needs init %s (the one whose image and text projection heads were trained together)", er.data.plugin, textRetrievalInit)
	case !ran:
		return fmt.Errorf("dataset %q has no image-candidate/image-query or text-candidate/text-query splits", er.data.plugin)
	}
	er.bar.Add(1)
	return nil
}

// zeroshot scores test images against the recipe's class prompts. Only the
// classes with prompts are scored (the test labels are cut to them).
func (er *evalRun) zeroshot(ctx context.Context, init string, img encoder) error {
	_, _, testSplit, err := labelSplits(ctx, er.data.client)
	if err != nil {
		return err
	}
	info, err := er.data.client.Describe(ctx, testSplit)
	if err != nil {
		return err
	}
	test, err := er.s.features(ctx, img, er.data, testSplit, sdk.OutputProjection, false)
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
	if err := er.record(ctx, "zeroshot", init, 1, res, info.Task); err != nil {
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

// record turns an evaluator's result into results entries, metrics,
// prediction CSVs and ROC plots.
func (er *evalRun) record(ctx context.Context, protocol, init string, fraction float64, res sdk.EvalResult, task string) error {
	scores := make([]results.Score, len(res.Scores))
	for i, sc := range res.Scores {
		scores[i] = results.Score{Metric: sc.Metric, Seeds: sc.Seeds, Values: sc.Values, TestBootstrap: intervalOf(sc)}
	}
	es, err := results.Cell(results.Entry{Task: er.data.plugin, Protocol: protocol, Init: init, Fraction: fraction}, scores, res.Metrics)
	if err != nil {
		return err
	}
	if init == "convirt" {
		for i := range es {
			es[i].Weights = er.used
		}
	}
	er.out = append(er.out, es...)
	return er.s.writeOutputs(er.e.Name, protocol, init, fraction, res, task)
}
