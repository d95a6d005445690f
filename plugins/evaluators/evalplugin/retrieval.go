package evalplugin

import (
	"context"
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
	"github.com/convirt/convirt/plugins/evaluators/retrieval"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// RetrievalConfig is the config of the retrieval evaluator.
type RetrievalConfig struct {
	// Ks are the precision cut-offs used when a request names none.
	Ks []int64 `json:"ks" min:"1" doc:"Precision@k cut-offs, used when the request's params name none (the paper: 5, 10, 50)"`
	BootConfig
}

// DefaultRetrievalConfig is the retrieval evaluator's config before
// Configure: the paper's cut-offs 5, 10 and 50. Each call returns a fresh
// Ks, so decoding a config into it never changes another's.
func DefaultRetrievalConfig() RetrievalConfig {
	return RetrievalConfig{BootConfig: defaultBoot(), Ks: []int64{5, 10, 50}}
}

// Retrieval is the built-in "retrieval" evaluator: each query embedding
// ranks the candidate images by cosine similarity; Precision@k counts the
// candidates labelled 1 for the query's category.
type Retrieval struct{ frozen[RetrievalConfig] }

// retrievalSpec is what the retrieval evaluator's shell serves.
var retrievalSpec = frozenSpec[RetrievalConfig]{
	name: RetrievalName, protocol: sdk.ProtocolRetrieval, params: []string{"ks"},
	description: `zero-shot retrieval (protocol "retrieval"): Precision@k of cosine-similarity rankings, per category and averaged over categories`,
	defaults:    DefaultRetrievalConfig,
	run:         runRetrieval,
}

// NewRetrieval returns the evaluator with the default config.
func NewRetrieval() *Retrieval { return &Retrieval{newFrozen(&retrievalSpec)} }

// runRetrieval checks the request (its protocol and param names checked
// by the shell), ranks and scores.
func runRetrieval(ctx context.Context, req sdk.EvalRequest, cfg RetrievalConfig) (sdk.EvalResult, error) {
	ks64, err := (params{req.Params}).ints("ks", cfg.Ks, 1, math.MaxInt32)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	cands, queries, err := splitPair(req, sdk.SplitCandidates, (*split).check01, sdk.SplitQueries, (*split).checkOneHot)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	ks := make([]int, len(ks64))
	for i, k := range ks64 {
		if int(k) > cands.rows {
			return sdk.EvalResult{}, fmt.Errorf(`params: "ks": precision@%d needs at least %d candidates, split %q has %d`, k, k, sdk.SplitCandidates, cands.rows)
		}
		ks[i] = int(k)
	}
	qs := make([]retrieval.Query, queries.rows)
	for i, row := range queries.featureRows() {
		qs[i] = retrieval.Query{Category: queries.names[queries.class(i)], Embedding: row}
	}
	cs := retrieval.Candidates{Embeddings: cands.featureRows(), Labels: map[string][]float64{}}
	for c, n := range cands.names {
		col := make([]float64, cands.rows)
		for i := range col {
			col[i] = float64(cands.label(i, c))
		}
		cs.Labels[n] = col
	}
	rep, err := retrieval.Evaluate(qs, cs, ks)
	if err != nil {
		return sdk.EvalResult{}, fmt.Errorf("splits %q and %q: %w", sdk.SplitQueries, sdk.SplitCandidates, err)
	}
	res := sdk.EvalResult{Metrics: map[string]float64{
		"queries": float64(queries.rows), "candidates": float64(cands.rows), "categories": float64(len(rep.Categories))}}
	if res.Scores, err = retrievalScores(ctx, rep, cfg.metricsConfig()); err != nil {
		return sdk.EvalResult{}, err
	}
	// Chance: the expected precision of a random ranking, the share of
	// relevant candidates, per category and averaged like P@k.
	var chance float64
	var perCat []sdk.Score
	for _, cat := range rep.Categories {
		var rel float64
		for _, y := range cs.Labels[cat] {
			rel += y
		}
		v := rel / float64(cands.rows)
		chance += v / float64(len(rep.Categories))
		perCat = append(perCat, constScore("chance:"+cat, v))
	}
	res.Scores = append(append(res.Scores, constScore("chance", chance)), perCat...)
	for qi, q := range rep.Queries {
		cv := sdk.Curve{Name: sdk.TopHitsCurve(qi), XLabel: "candidate row", YLabel: "cosine similarity"}
		for _, h := range q.Top(retrieval.TopN) {
			cv.X, cv.Y = append(cv.X, float64(h.Candidate)), append(cv.Y, h.Similarity)
		}
		res.Curves = append(res.Curves, cv)
	}
	return res, nil
}

// retrievalScores turns a report into "p@<k>" and "p@<k>:<category>"
// scores with bootstrap intervals over the queries: a category's score
// resamples its queries; the mean over categories resamples the queries of
// every category within that category (a stratified bootstrap), so each
// resample keeps the categories and their query counts.
func retrievalScores(ctx context.Context, rep *retrieval.Report, boot metrics.BootstrapConfig) ([]sdk.Score, error) {
	strata := make([][]int, len(rep.Categories))
	for c, cat := range rep.Categories {
		for qi, q := range rep.Queries {
			if q.Category == cat {
				strata[c] = append(strata[c], qi)
			}
		}
	}
	var out []sdk.Score
	for _, k := range rep.Ks {
		// meanOf is the mean P@k of the queries idx.
		meanOf := func(idx []int) float64 {
			var s float64
			for _, qi := range idx {
				s += rep.Queries[qi].Precision[k]
			}
			return s / float64(len(idx))
		}
		overall := func(idx []int) (float64, error) {
			var m float64
			for _, s := range strata {
				m += meanOf(idx[:len(s)])
				idx = idx[len(s):]
			}
			return m / float64(len(strata)), nil
		}
		ci, err := metrics.StratifiedBootstrap(ctx, strata, overall, boot)
		if err != nil {
			return nil, fmt.Errorf("p@%d bootstrap: %w", k, err)
		}
		out = append(out, intervalScore(fmt.Sprintf("p@%d", k), rep.Mean[k], ci))
		for c, cat := range rep.Categories {
			ci, err := metrics.StratifiedBootstrap(ctx, strata[c:c+1], func(idx []int) (float64, error) { return meanOf(idx), nil }, boot)
			if err != nil {
				return nil, fmt.Errorf("p@%d:%s bootstrap: %w", k, cat, err)
			}
			out = append(out, intervalScore(fmt.Sprintf("p@%d:%s", k, cat), rep.PerCategory[cat][k], ci))
		}
	}
	return out, nil
}

// intervalScore is a single-run score (seed 0) with a bootstrap interval.
func intervalScore(name string, v float64, ci stats.Interval) sdk.Score {
	s := constScore(name, v)
	s.CILo, s.CIHi = ci.Lo, ci.Hi
	return s
}
