package evalplugin

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/convirt/convirt/plugins/sdk"
)

// predict runs protocol "predict": the head's probabilities for every
// split of the request (sorted by name), and for each labelled split its
// mean loss as Metrics "loss:<split>" (and "loss" when the request has one
// split). It changes nothing.
func (p *Finetune) predict(req sdk.EvalRequest) (sdk.EvalResult, error) {
	if len(req.Params) > 0 {
		return sdk.EvalResult{}, fmt.Errorf("params: protocol %q takes none, got %s", sdk.ProtocolPredict, quoteAll(slices.Sorted(maps.Keys(req.Params))))
	}
	_, head := p.current()
	if head == nil {
		return sdk.EvalResult{}, errNoHead
	}
	names := presentSplits(req)
	if len(names) == 0 {
		return sdk.EvalResult{}, fmt.Errorf("protocol %q needs at least one split of features", sdk.ProtocolPredict)
	}
	res := sdk.EvalResult{Metrics: map[string]float64{}}
	hc := head.Config()
	for _, name := range names {
		fs := req.Splits[name]
		n, ids, err := checkFeatures(name, fs, hc.In)
		if err != nil {
			return res, err
		}
		pr := sdk.Predictions{Name: name, IDs: ids, Names: fs.LabelNames}
		var probs [][]float32
		if fs.Labels != nil {
			if len(fs.LabelNames) != hc.Out {
				return res, fmt.Errorf("split %q has %d label names, the head has %d outputs", name, len(fs.LabelNames), hc.Out)
			}
			_, tg, _, err := targetsOf(hc, fs.Features, fs.Labels)
			if err != nil {
				return res, fmt.Errorf("split %q: %w", name, err)
			}
			loss, pp, err := head.Loss(fs.Features, tg)
			if err != nil {
				return res, fmt.Errorf("split %q: %w", name, err)
			}
			res.Metrics["loss:"+name] = loss
			if len(names) == 1 {
				res.Metrics[sdk.LossKey] = loss
			}
			probs, pr.Targets = pp, fs.Labels
		} else if probs, err = head.Predict(fs.Features); err != nil {
			return res, fmt.Errorf("split %q: %w", name, err)
		}
		if len(pr.Names) != hc.Out {
			pr.Names = make([]string, hc.Out)
			for c := range pr.Names {
				pr.Names[c] = strconv.Itoa(c)
			}
		}
		if pr.Scores, err = predTensor(probs, hc.Out); err != nil {
			return res, fmt.Errorf("split %q: %w", name, err)
		}
		res.Metrics["examples:"+name] = float64(n)
		res.Predictions = append(res.Predictions, pr)
	}
	return res, nil
}

// checkFeatures checks that fs holds finite (N, dim) features and zero or
// N ids, and returns N and the ids (row numbers when absent).
func checkFeatures(name string, fs *sdk.FeatureSet, dim int) (int, []string, error) {
	x, shape, err := floats(fs.Features)
	if err != nil {
		return 0, nil, fmt.Errorf("split %q features: %w", name, err)
	}
	n := int(shape[0])
	if n == 0 || int(shape[1]) != dim {
		return 0, nil, fmt.Errorf("split %q has features of shape %v, want at least one row of %d (the head's input)", name, shape, dim)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, nil, fmt.Errorf("split %q features: row %d column %d is %v", name, i/dim, i%dim, v)
		}
	}
	switch len(fs.IDs) {
	case 0:
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.Itoa(i)
		}
		return n, ids, nil
	case n:
		return n, fs.IDs, nil
	}
	return 0, nil, fmt.Errorf("split %q has %d ids for %d rows", name, len(fs.IDs), n)
}

// scoreProbes runs protocol "score": split "seed-<n>" of each seed n in
// params "seeds" holds that probe's test probabilities as Features (N,K)
// with the test labels; all must describe the same test examples. The
// result is linear's: Scores over seeds with bootstrap intervals, one
// Predictions per seed and the first seed's ROC curves.
func scoreProbes(ctx context.Context, req sdk.EvalRequest, boot BootConfig) (sdk.EvalResult, error) {
	ps := params{req.Params}
	if err := ps.checkKeys("task", "seeds"); err != nil {
		return sdk.EvalResult{}, err
	}
	task, err := ps.task()
	if err != nil {
		return sdk.EvalResult{}, err
	}
	seeds64, err := ps.ints("seeds", nil, 0, 1<<53)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	seeds, names := make([]uint64, len(seeds64)), make([]string, len(seeds64))
	want := map[string]bool{}
	for i, s := range seeds64 {
		seeds[i], names[i] = uint64(s), sdk.SeedSplit(s)
		want[names[i]] = true
	}
	for name := range req.Splits {
		if !want[name] {
			return sdk.EvalResult{}, fmt.Errorf("split %q does not belong to any of the seeds %v (want splits %s)", name, seeds64, quoteAll(names))
		}
	}
	var first *split
	preds := make([][][]float32, len(names))
	for i, name := range names {
		s, err := getSplit(req, name)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		if s.dim != s.k {
			return sdk.EvalResult{}, fmt.Errorf("split %q has %d scores per example for %d labels", name, s.dim, s.k)
		}
		if err := s.checkTask(task); err != nil {
			return sdk.EvalResult{}, err
		}
		if first == nil {
			first = s
		} else if err := sameExamples(first, s); err != nil {
			return sdk.EvalResult{}, err
		}
		preds[i] = s.featureRows()
	}
	res, err := labelResult(ctx, task, seeds, names, preds, first, boot.metricsConfig())
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res.Metrics["test_examples"] = float64(first.rows)
	res.Metrics["seeds"] = float64(len(seeds))
	return res, nil
}

// sameExamples checks that b holds a's test examples: the same label
// names, ids and labels (NaN matching NaN).
func sameExamples(a, b *split) error {
	if err := sameLabels(a, b, true); err != nil {
		return err
	}
	if a.rows != b.rows {
		return fmt.Errorf("split %q has %d examples, split %q has %d: every seed scores the same test examples", b.name, b.rows, a.name, a.rows)
	}
	for i := range a.ids {
		if a.ids[i] != b.ids[i] {
			return fmt.Errorf("split %q row %d is %q, split %q has %q there: every seed scores the same test examples in the same order", b.name, i, b.ids[i], a.name, a.ids[i])
		}
	}
	for i, v := range a.y {
		w := b.y[i]
		if v != w && !(math.IsNaN(float64(v)) && math.IsNaN(float64(w))) {
			return fmt.Errorf("split %q row %d label %q is %v, split %q has %v", b.name, i/a.k, a.names[i%a.k], w, a.name, v)
		}
	}
	return nil
}
