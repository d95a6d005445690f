package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

// fixtureLabels are the labels of the fixture's multi-label task.
var fixtureLabels = []string{"Edema", "Effusion"}

// fixtureSeeds is how many seeds each fixture cell has.
const fixtureSeeds = 3

// fixtureRun makes a small finished run the way core/experiment leaves
// one: pretraining metrics (loss, validation loss, learning rate, counts),
// results.json with linear-probe cells of two inits at three label
// fractions and three seeds (mean and per-label AUCs) and retrieval cells,
// every seed's predictions CSV, and retrieval examples with thumbnails.
// Values come from a fixed-seed generator, so the run is the same every
// time.
func fixtureRun(t *testing.T, root string) (*runs.Run, []results.Entry) {
	t.Helper()
	r, err := runs.Create(root, "demo", runs.Options{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	r.LogParams(map[string]string{"train.lr": "0.0001"})
	for i := range 30 {
		r.LogMetric("train/loss", 3/float64(i+1)+0.5, int64(i))
		r.LogMetric(LRKey, 1e-4*float64(min(i+1, 10))/10, int64(i))
		if i%10 == 9 {
			r.LogMetric("val/loss", 3.5/float64(i+1)+0.6, int64(i))
		}
	}
	r.LogMetric("eval/chexpert-linear/linear/convirt/f1/examples", 237, 0)
	var entries []results.Entry
	cell := func(protocol, init, metric string, f, base float64, n int) {
		seeds, values := make([]uint64, n), make([]float64, n)
		for s := range n {
			seeds[s], values[s] = uint64(s+1), base+0.02*rng.Float64()
		}
		e, err := results.Aggregate(results.Entry{Task: "chexpert", Protocol: protocol, Init: init, Fraction: f, Metric: metric},
			seeds, values, stats.Interval{Lo: base - 0.05, Hi: base + 0.05})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	for _, init := range []string{"convirt", "random"} {
		for i, f := range []float64{0.01, 0.1, 1} {
			base := 0.6 + 0.1*float64(i)
			if init == "convirt" {
				base += 0.15
			}
			cell("linear", init, "auc", f, base, fixtureSeeds)
			for _, l := range fixtureLabels {
				cell("linear", init, "auc:"+l, f, base-0.01, fixtureSeeds)
			}
			if f == 1 {
				writePredictions(t, r, rng, init)
			}
		}
	}
	cell("retrieval-image", "convirt", "p@10", 1, 0.4, 1)
	cell("retrieval-text", "convirt", "p@5", 1, 0.55, 1)
	if err := results.Write(r.Path(runs.ResultsFile), &results.File{Version: results.Version, Entries: entries}); err != nil {
		t.Fatal(err)
	}
	writeRetrievalFixture(t, r)
	r.Sync()
	return r, entries
}

// writePredictions writes every seed's predictions of the linear probe of
// init at 100% of the labels.
func writePredictions(t *testing.T, r *runs.Run, rng *rand.Rand, init string) {
	t.Helper()
	for s := range fixtureSeeds {
		var ids []string
		var truth [][]float64
		var scores [][]float32
		for i := range 40 {
			ids = append(ids, fmt.Sprintf("p%02d", i))
			tr, sc := make([]float64, len(fixtureLabels)), make([]float32, len(fixtureLabels))
			for k := range fixtureLabels {
				tr[k] = float64(i % 2)
				sc[k] = float32(0.3*tr[k] + rng.Float64())
			}
			truth, scores = append(truth, tr), append(scores, sc)
		}
		var buf bytes.Buffer
		if err := results.WriteLabelPredictions(&buf, ids, fixtureLabels, truth, scores); err != nil {
			t.Fatal(err)
		}
		rel := filepath.Join(runs.PredictionsDir, "chexpert-linear", "linear", init, "f1", fmt.Sprintf("seed-%d.csv", s+1))
		if err := r.WriteFileAtomic(rel, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}

// writeRetrievalFixture writes one image query and one text query with
// three hits each, thumbnails included.
func writeRetrievalFixture(t *testing.T, r *runs.Run) {
	t.Helper()
	cell := "chexpert-8x200-retrieval-image-convirt"
	thumb := func(c int, shade float32) []byte {
		pix := make([]float32, c*20*30)
		for i := range pix {
			pix[i] = shade * float32(i%30)
		}
		b, err := Thumbnail(c, 20, 30, pix)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var hits []RetrievalHit
	for i := range 3 {
		hits = append(hits, RetrievalHit{Rank: i + 1, ID: fmt.Sprintf("cand%d", i), Similarity: 0.9 - 0.1*float64(i), Relevant: i != 1,
			Image: thumb(3, float32(i+1))})
	}
	ex := []RetrievalExample{
		{Title: "Edema: image query q1 (init convirt, image-image)", Image: thumb(1, 1), Hits: hits},
		{Title: "Edema: text query q2 (init convirt, text-image)", Text: "Mild pulmonary edema.", Hits: hits},
	}
	if err := WriteRetrievalExamples(r.Dir(), cell, ex); err != nil {
		t.Fatal(err)
	}
}
