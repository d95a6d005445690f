package retrieval

import (
	"math"
	"testing"
)

func TestEvaluateConstructed(t *testing.T) {
	// Candidates along three directions; the "A" label is 1 for the first
	// four, and for candidate 5 only with label -1 (uncertain: not relevant).
	cands := Candidates{
		Embeddings: [][]float32{
			{1, 0, 0}, {2, 0.1, 0}, {0.9, 0.2, 0}, {1, 0.3, 0}, // near x
			{0, 1, 0}, {0.1, 1, 0}, // near y
			{0, 0, 1}, {0, 0.1, 1}, // near z
		},
		Labels: map[string][]float64{
			"A": {1, 1, 0, 1, -1, 0, 0, math.NaN()},
			"B": {0, 0, 0, 0, 1, 1, 0, 0},
		},
	}
	queries := []Query{
		{"A", []float32{5, 0, 0}}, // ranks 0, 1, 2, 3 (by angle) then the rest
		{"A", []float32{0, 0, 1}}, // ranks 6, 7 first: both irrelevant
		{"B", []float32{0, 2, 0}}, // ranks 4, 5 first
	}
	rep, err := Evaluate(queries, cands, []int{1, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[int]float64{
		// query 1: top4 = 0,1,3,2 -> rel 1,1,1,0; query 2: top4 = 6,7,... -> 0,0,?,?
		"A": {1: (1 + 0) / 2.0, 2: (1 + 0) / 2.0},
		"B": {1: 1, 2: 1, 4: 0.5},
	}
	for c, ks := range want {
		for k, w := range ks {
			if got := rep.PerCategory[c][k]; math.Abs(got-w) > 1e-12 {
				t.Errorf("%s P@%d = %v, want %v", c, k, got, w)
			}
		}
	}
	if got := rep.Queries[0].Precision[4]; got != 0.75 {
		t.Errorf("query 0 P@4 = %v, want 0.75 (ranking %v)", got, rep.Queries[0].Ranking)
	}
	if r := rep.Queries[1].Ranking; r[0] != 6 || r[1] != 7 {
		t.Errorf("query 1 ranking %v", r)
	}
	if m := rep.Mean[1]; math.Abs(m-(0.5+1)/2) > 1e-12 {
		t.Errorf("mean P@1 = %v", m)
	}
	if rep.Categories[0] != "A" || rep.Categories[1] != "B" {
		t.Errorf("categories %v", rep.Categories)
	}
}

func TestEvaluateErrors(t *testing.T) {
	c := Candidates{Embeddings: [][]float32{{1, 0}, {0, 1}}, Labels: map[string][]float64{"A": {1, 0}}}
	cases := map[string]struct {
		q  []Query
		c  Candidates
		ks []int
	}{
		"no queries":       {nil, c, nil},
		"k too big":        {[]Query{{"A", []float32{1, 0}}}, c, []int{5}},
		"unknown category": {[]Query{{"B", []float32{1, 0}}}, c, []int{1}},
		"zero query":       {[]Query{{"A", []float32{0, 0}}}, c, []int{1}},
		"dimension":        {[]Query{{"A", []float32{1, 0, 0}}}, c, []int{1}},
		"label count":      {[]Query{{"A", []float32{1, 0}}}, Candidates{Embeddings: c.Embeddings, Labels: map[string][]float64{"A": {1}}}, []int{1}},
	}
	for name, tc := range cases {
		if _, err := Evaluate(tc.q, tc.c, tc.ks); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestTopHits: a query's top hits are its most similar candidates, most
// similar first, with their cosine similarities; ties keep candidate order.
func TestTopHits(t *testing.T) {
	cands := Candidates{
		Embeddings: [][]float32{{0, 1}, {1, 0}, {1, 1}, {2, 0}},
		Labels:     map[string][]float64{"A": {0, 1, 0, 1}},
	}
	rep, err := Evaluate([]Query{{"A", []float32{3, 0}}}, cands, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Queries[0].Top(3)
	want := []Hit{{1, 1}, {3, 1}, {2, math.Sqrt(0.5)}}
	if len(got) != len(want) {
		t.Fatalf("Top(3) = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Candidate != want[i].Candidate || math.Abs(got[i].Similarity-want[i].Similarity) > 1e-6 {
			t.Errorf("Top(3)[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := len(rep.Queries[0].Top(10)); n != 4 {
		t.Errorf("Top(10) of 4 candidates gave %d hits", n)
	}
	if n := len(rep.Queries[0].Top(-1)); n != 0 {
		t.Errorf("Top(-1) gave %d hits", n)
	}
}
