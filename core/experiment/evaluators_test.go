package experiment

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// The evaluators below stand in for the built-in ones (which core may not
// import: plugins/evaluators) in tests of the host's part of an evaluation:
// what it sends, in which order, and what it records. They implement the
// protocols of the plugin contract (sdk.Protocol*) in the simplest correct
// way; the built-ins are tested against the same contract in their own
// package, and with the host end to end in cmd/convirt.

// rankEvaluator stands in for the retrieval evaluator: each query ranks the
// candidates by cosine similarity, and p@k, for each configured k, is the
// share of its top k candidates labelled with the query's category (the
// one-hot label of the query), averaged over the queries. One run, so each
// score has seed 0 and no spread.
type rankEvaluator struct{ ks []int }

func (e *rankEvaluator) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "test-rank", Version: "0.0.1"}, nil
}

func (e *rankEvaluator) Configure(_ context.Context, cfg map[string]any) error {
	ks, _ := cfg["ks"].([]any)
	e.ks = nil
	for _, k := range ks {
		n, ok := intValue(k)
		if !ok || n < 1 {
			return fmt.Errorf("ks: %v is not a positive integer", k)
		}
		e.ks = append(e.ks, n)
	}
	return nil
}

func (e *rankEvaluator) Close() error { return nil }

func (e *rankEvaluator) Grad(context.Context, *tensor.Tensor, *tensor.Tensor) (float64, *tensor.Tensor, error) {
	return 0, nil, fmt.Errorf("retrieval has no head")
}

func (e *rankEvaluator) Evaluate(_ context.Context, req sdk.EvalRequest) (sdk.EvalResult, error) {
	if req.Protocol != sdk.ProtocolRetrieval {
		return sdk.EvalResult{}, fmt.Errorf("protocol %q is not implemented", req.Protocol)
	}
	cands, queries := req.Splits[sdk.SplitCandidates], req.Splits[sdk.SplitQueries]
	if cands == nil || queries == nil {
		return sdk.EvalResult{}, fmt.Errorf("want splits %q and %q", sdk.SplitCandidates, sdk.SplitQueries)
	}
	var cx, qx, cl, ql [][]float32
	for _, r := range []struct {
		dst *[][]float32
		t   *tensor.Tensor
	}{{&cx, cands.Features}, {&qx, queries.Features}, {&cl, cands.Labels}, {&ql, queries.Labels}} {
		var err error
		if *r.dst, err = rows(r.t); err != nil {
			return sdk.EvalResult{}, err
		}
	}
	var res sdk.EvalResult
	for _, k := range e.ks {
		if k > len(cx) {
			return sdk.EvalResult{}, fmt.Errorf("p@%d of %d candidates", k, len(cx))
		}
		var sum float64
		for q, query := range qx {
			cat := slices.Index(ql[q], 1)
			order := make([]int, len(cx))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return cosine(query, cx[order[a]]) > cosine(query, cx[order[b]]) })
			hits := 0
			for _, i := range order[:k] {
				if cat >= 0 && cl[i][cat] == 1 {
					hits++
				}
			}
			sum += float64(hits) / float64(k)
		}
		v := sum / float64(len(qx))
		res.Scores = append(res.Scores, sdk.Score{Metric: fmt.Sprintf("p@%d", k), Mean: v, CILo: v, CIHi: v, Seeds: []uint64{0}, Values: []float64{v}})
	}
	// Each query's top hits (at most 3), as the built-in reports them.
	for q, query := range qx {
		order := make([]int, len(cx))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return cosine(query, cx[order[a]]) > cosine(query, cx[order[b]]) })
		c := sdk.Curve{Name: sdk.TopHitsCurve(q)}
		for _, i := range order[:min(3, len(order))] {
			c.X, c.Y = append(c.X, float64(i)), append(c.Y, cosine(query, cx[i]))
		}
		res.Curves = append(res.Curves, c)
	}
	return res, nil
}
