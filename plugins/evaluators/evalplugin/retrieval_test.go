package evalplugin

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// handRetrieval is a retrieval request whose answer is worked out by hand.
//
// Candidates (2-d) and their labels for categories A, B, C:
//
//	c0 (1, 0)      A=1 B=0 C=1
//	c1 (0.9, 0.1)  A=0 B=1 C=0
//	c2 (0, 1)      A=0 B=1 C=0
//	c3 (0.1, 0.9)  A=1 B=1 C=0
//
// Queries: q0 (1, 0) in A ranks c0 c1 c3 c2, relevant 1 0 1 0: P@1,2,3 =
// 1, 1/2, 2/3. q1 (0, 1) in B ranks c2 c3 c1 c0, relevant 1 1 1 0: 1, 1, 1.
// q2 (0.8, 0.6) in A ranks c1 (0.861) c0 (0.8) c3 (0.685) c2 (0.6),
// relevant 0 1 1 0: 0, 1/2, 2/3. So A has P@1,2,3 = 1/2, 1/2, 2/3, B 1, 1,
// 1, and the means are 3/4, 3/4, 5/6. C has no query and takes no part.
// Chance: A 2/4, B 3/4, mean 5/8.
func handRetrieval(t *testing.T) sdk.EvalRequest {
	names := []string{"A", "B", "C"}
	cands := fset(t, [][]float32{{1, 0}, {0.9, 0.1}, {0, 1}, {0.1, 0.9}},
		[][]float32{{1, 0, 1}, {0, 1, 0}, {0, 1, 0}, {1, 1, 0}}, names)
	queries := fset(t, [][]float32{{1, 0}, {0, 1}, {0.8, 0.6}}, [][]float32{{1, 0, 0}, {0, 1, 0}, {1, 0, 0}}, names)
	return sdk.EvalRequest{Protocol: "retrieval", Params: map[string]any{"ks": []any{1.0, 2.0, 3.0}},
		Splits: map[string]*sdk.FeatureSet{"candidates": cands, "queries": queries}}
}

func TestRetrievalHandComputed(t *testing.T) {
	res, err := configured(t, NewRetrieval(), map[string]any{"bootstrap": 200}).Evaluate(context.Background(), handRetrieval(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"p@1": 0.75, "p@2": 0.75, "p@3": 5.0 / 6,
		"p@1:A": 0.5, "p@2:A": 0.5, "p@3:A": 2.0 / 3,
		"p@1:B": 1, "p@2:B": 1, "p@3:B": 1,
		"chance": 0.625, "chance:A": 0.5, "chance:B": 0.75,
	}
	if len(res.Scores) != len(want) {
		t.Errorf("%d scores, want %d", len(res.Scores), len(want))
	}
	for m, w := range want {
		s := scoreOf(t, res, m)
		checkScore(t, s, []uint64{0})
		if !near(s.Mean, w, 1e-12) {
			t.Errorf("%s = %v, want %v", m, s.Mean, w)
		}
	}
	// B has one query: resampling it changes nothing.
	if s := scoreOf(t, res, "p@1:B"); s.CILo != 1 || s.CIHi != 1 {
		t.Errorf("p@1:B interval [%v, %v]", s.CILo, s.CIHi)
	}
	// A's two queries score 1 and 0 at k=1: the interval spans [0, 1].
	if s := scoreOf(t, res, "p@1:A"); s.CILo != 0 || s.CIHi != 1 {
		t.Errorf("p@1:A interval [%v, %v]", s.CILo, s.CIHi)
	}
	// Resampling within categories: B stays 1, A's mean is 0, 1/2 or 1.
	if s := scoreOf(t, res, "p@1"); s.CILo != 0.5 || s.CIHi != 1 {
		t.Errorf("p@1 interval [%v, %v]", s.CILo, s.CIHi)
	}
	if m := res.Metrics; m["queries"] != 3 || m["candidates"] != 4 || m["categories"] != 2 {
		t.Errorf("metrics %v", m)
	}
}

// TestRetrievalTopHits: each query's top hits come back as a curve, the
// candidate rows in the order worked out above with their similarities.
func TestRetrievalTopHits(t *testing.T) {
	res, err := configured(t, NewRetrieval(), map[string]any{"bootstrap": 20}).Evaluate(context.Background(), handRetrieval(t))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0, 1, 3, 2}, {2, 3, 1, 0}, {1, 0, 3, 2}}
	if len(res.Curves) != len(want) {
		t.Fatalf("%d curves, want one per query (%d)", len(res.Curves), len(want))
	}
	for qi, w := range want {
		c := res.Curves[qi]
		if c.Name != sdk.TopHitsCurve(qi) || !reflect.DeepEqual(c.X, w) || len(c.Y) != len(w) {
			t.Errorf("curve %d: %s %v, want %s %v", qi, c.Name, c.X, sdk.TopHitsCurve(qi), w)
		}
		for i := 1; i < len(c.Y); i++ {
			if c.Y[i] > c.Y[i-1] {
				t.Errorf("curve %d: similarities %v not descending", qi, c.Y)
			}
		}
	}
	if c := res.Curves[2]; !near(c.Y[0], 0.78/math.Hypot(0.9, 0.1), 1e-6) {
		t.Errorf("q2's first hit similarity %v, want ~0.861", c.Y[0])
	}
}

func TestRetrievalRepeatable(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	names := []string{"a", "b", "c"}
	cx, cy := synthLabels(r, 80, 5, 3, true)
	var qx, qy [][]float32
	for i := 0; i < 12; i++ {
		c := i % 3
		row := make([]float32, 5)
		for j := range row {
			row[j] = float32(0.3 * r.NormFloat64())
		}
		row[c] += 1
		oh := make([]float32, 3)
		oh[c] = 1
		qx, qy = append(qx, row), append(qy, oh)
	}
	req := sdk.EvalRequest{Protocol: "retrieval", Splits: map[string]*sdk.FeatureSet{"candidates": fset(t, cx, cy, names), "queries": fset(t, qx, qy, names)}}
	run := func(cfg map[string]any) sdk.EvalResult {
		res, err := configured(t, NewRetrieval(), cfg).Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(nil), run(nil), run(map[string]any{"bootstrap_seed": 9})
	if !reflect.DeepEqual(a, b) {
		t.Error("the same request gave different results")
	}
	p10, p10c := scoreOf(t, a, "p@10"), scoreOf(t, c, "p@10")
	if p10.Mean != p10c.Mean || p10.CILo == p10c.CILo && p10.CIHi == p10c.CIHi {
		t.Errorf("another bootstrap seed should move the interval only: %+v vs %+v", p10, p10c)
	}
	// The queries point at their category's feature: far better than chance.
	if ch := scoreOf(t, a, "chance"); p10.Mean < 2*ch.Mean {
		t.Errorf("p@10 %v, chance %v", p10.Mean, ch.Mean)
	}
	for _, m := range []string{"p@5", "p@50", "p@50:c"} {
		scoreOf(t, a, m)
	}
}

func TestRetrievalRejectsBadRequests(t *testing.T) {
	ev := NewRetrieval()
	with := func(edit func(*sdk.EvalRequest)) sdk.EvalRequest {
		r := handRetrieval(t)
		edit(&r)
		return r
	}
	set := func(split string, row, col int, v float32) func(*sdk.EvalRequest) {
		return func(r *sdk.EvalRequest) {
			fs := r.Splits[split]
			y, _ := fs.Labels.Float32s()
			y[row*3+col] = v
			var rows [][]float32
			for i := 0; i < len(y); i += 3 {
				rows = append(rows, y[i:i+3])
			}
			fs.Labels = mat(t, rows)
		}
	}
	cases := []struct {
		name      string
		req       sdk.EvalRequest
		fragments []string
	}{
		{"protocol", with(func(r *sdk.EvalRequest) { r.Protocol = "linear" }), []string{`protocol "linear" is not implemented`}},
		{"default ks", with(func(r *sdk.EvalRequest) { r.Params = nil }), []string{"precision@5 needs at least 5 candidates", `"candidates" has 4`}},
		{"k 0", with(func(r *sdk.EvalRequest) { r.Params["ks"] = []any{0.0} }), []string{`"ks"[0] must be an integer`}},
		{"ks string", with(func(r *sdk.EvalRequest) { r.Params["ks"] = "5,10" }), []string{`"ks" must be a list of integers`}},
		{"unknown param", with(func(r *sdk.EvalRequest) { r.Params["k"] = 5 }), []string{`unknown "k"`}},
		{"no queries", with(func(r *sdk.EvalRequest) { delete(r.Splits, "queries") }), []string{`split "queries" is missing`}},
		{"candidate label", with(set("candidates", 1, 2, 0.5)), []string{`split "candidates": row 1 label "C" is 0.5, want 0 or 1`}},
		{"two-hot query", with(set("queries", 2, 1, 1)), []string{`split "queries": row 2 has 2 labels set`}},
		{"names differ", with(func(r *sdk.EvalRequest) { r.Splits["queries"].LabelNames = []string{"A", "C", "B"} }), []string{`split "queries" label 1 is "C"`}},
		{"zero query", with(func(r *sdk.EvalRequest) {
			r.Splits["queries"].Features = mat(t, [][]float32{{1, 0}, {0, 0}, {0.8, 0.6}})
		}), []string{`"queries"`, "query 1 embedding has norm 0"}},
		{"dims differ", with(func(r *sdk.EvalRequest) {
			r.Splits["queries"].Features = mat(t, [][]float32{{1, 0, 0}, {0, 1, 0}, {0.8, 0.6, 0}})
		}), []string{`split "queries" has 3-dimensional features, split "candidates" has 2`}},
	}
	for _, c := range cases {
		wantErr(t, c.name, ev, c.req, c.fragments...)
	}
	if _, _, err := ev.Grad(context.Background(), nil, nil); err == nil {
		t.Error("Grad accepted")
	}
	if err := NewRetrieval().Configure(context.Background(), map[string]any{"query": "image"}); err == nil {
		t.Error("unknown config key accepted")
	}
}
