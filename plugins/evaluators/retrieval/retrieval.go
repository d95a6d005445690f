// Package retrieval implements the paper's zero-shot retrieval protocol on
// the CheXpert 8x200 sets: each query (an image or a text embedding, tagged
// with a category) ranks the candidate images by cosine similarity, and a
// retrieved image counts as correct only when its label for the query's
// category is 1. Precision@k is averaged over the queries of each category
// and then over categories.
package retrieval

import (
	"fmt"
	"sort"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

// DefaultKs are the cut-offs the paper reports.
var DefaultKs = []int{5, 10, 50}

// TopN is how many top hits per query an evaluator reports beside the
// precisions, for a report to show.
const TopN = 8

// Query is one retrieval query.
type Query struct {
	// Category names the query's finding, e.g. "Cardiomegaly".
	Category string
	// Embedding is the query's embedding (image or text encoder output).
	Embedding []float32
}

// Candidates are the images to rank.
type Candidates struct {
	// Embeddings holds one image embedding per candidate.
	Embeddings [][]float32
	// Labels maps each category to the candidates' labels for it, in the
	// order of Embeddings; only 1 counts as relevant (0, -1 or NaN do not).
	Labels map[string][]float64
}

// QueryResult is the outcome of one query.
type QueryResult struct {
	Category  string
	Ranking   []int           // candidate indices, most similar first
	Precision map[int]float64 // k -> Precision@k
	// Similarity is the cosine similarity of each ranked candidate, in the
	// order of Ranking.
	Similarity []float64
}

// Hit is one ranked candidate of a query.
type Hit struct {
	Candidate  int     // index into Candidates.Embeddings
	Similarity float64 // cosine similarity to the query
}

// Top returns the query's n most similar candidates (all of them when
// there are fewer), most similar first: what a report shows as the query's
// top hits.
func (q QueryResult) Top(n int) []Hit {
	n = max(0, min(n, len(q.Ranking)))
	out := make([]Hit, n)
	for i := range out {
		out[i] = Hit{Candidate: q.Ranking[i], Similarity: q.Similarity[i]}
	}
	return out
}

// Report gathers the precisions of all queries.
type Report struct {
	// Ks are the cut-offs evaluated.
	Ks []int
	// Categories lists the query categories in sorted order.
	Categories []string
	// PerCategory maps category -> k -> mean Precision@k over its queries.
	PerCategory map[string]map[int]float64
	// Mean maps k -> mean over categories of PerCategory.
	Mean map[int]float64
	// Queries holds each query's ranking and precisions, in input order.
	Queries []QueryResult
}

// Evaluate ranks the candidates for each query and computes Precision@k for
// each k in ks (DefaultKs when empty). Ties in similarity are broken by
// candidate index, so results are deterministic.
func Evaluate(queries []Query, cands Candidates, ks []int) (*Report, error) {
	if len(ks) == 0 {
		ks = DefaultKs
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("retrieval: no queries")
	}
	n := len(cands.Embeddings)
	for _, k := range ks {
		if k <= 0 || k > n {
			return nil, fmt.Errorf("retrieval: precision@%d needs 1 <= k <= %d candidates", k, n)
		}
	}
	cn := make([][]float64, n)
	for i, e := range cands.Embeddings {
		var err error
		if cn[i], err = vec.Normalize(e, fmt.Sprintf("candidate %d embedding", i)); err != nil {
			return nil, fmt.Errorf("retrieval: %w", err)
		}
		if len(e) != len(cands.Embeddings[0]) {
			return nil, fmt.Errorf("retrieval: candidate %d has dimension %d, candidate 0 has %d", i, len(e), len(cands.Embeddings[0]))
		}
	}
	rep := &Report{Ks: append([]int(nil), ks...), PerCategory: map[string]map[int]float64{}, Mean: map[int]float64{}}
	counts := map[string]int{}
	for qi, q := range queries {
		labels, ok := cands.Labels[q.Category]
		if !ok {
			return nil, fmt.Errorf("retrieval: query %d: candidates have no labels for category %q", qi, q.Category)
		}
		if len(labels) != n {
			return nil, fmt.Errorf("retrieval: category %q has %d labels for %d candidates", q.Category, len(labels), n)
		}
		if len(q.Embedding) != len(cands.Embeddings[0]) {
			return nil, fmt.Errorf("retrieval: query %d has dimension %d, candidates %d", qi, len(q.Embedding), len(cands.Embeddings[0]))
		}
		qn, err := vec.Normalize(q.Embedding, fmt.Sprintf("query %d embedding", qi))
		if err != nil {
			return nil, fmt.Errorf("retrieval: %w", err)
		}
		sim := make([]float64, n)
		rank := make([]int, n)
		for i := range cn {
			sim[i], rank[i] = vec.Dot(qn, cn[i]), i
		}
		sort.SliceStable(rank, func(a, b int) bool { return sim[rank[a]] > sim[rank[b]] })
		rel := make([]bool, n)
		for i, c := range rank {
			rel[i] = labels[c] == 1
		}
		ranked := make([]float64, n)
		for i, c := range rank {
			ranked[i] = sim[c]
		}
		res := QueryResult{Category: q.Category, Ranking: rank, Precision: map[int]float64{}, Similarity: ranked}
		if rep.PerCategory[q.Category] == nil {
			rep.PerCategory[q.Category] = map[int]float64{}
			rep.Categories = append(rep.Categories, q.Category)
		}
		for _, k := range ks {
			p, err := metrics.PrecisionAtK(rel, k)
			if err != nil {
				return nil, fmt.Errorf("retrieval: query %d: %w", qi, err)
			}
			res.Precision[k] = p
			rep.PerCategory[q.Category][k] += p
		}
		counts[q.Category]++
		rep.Queries = append(rep.Queries, res)
	}
	sort.Strings(rep.Categories)
	for _, c := range rep.Categories {
		for _, k := range ks {
			rep.PerCategory[c][k] /= float64(counts[c])
			rep.Mean[k] += rep.PerCategory[c][k] / float64(len(rep.Categories))
		}
	}
	return rep, nil
}
