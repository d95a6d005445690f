package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/convirt/convirt/core/runs"
)

// meta returns a page's header rows as a map.
func meta(p Page) map[string]string {
	m := map[string]string{}
	for _, kv := range p.Meta {
		m[kv[0]] = kv[1]
	}
	return m
}

// TestBuildEnding: a run's own report, written while the run is still
// open, shows the status and duration the run ends with; without Ending
// the page shows meta.json's.
func TestBuildEnding(t *testing.T) {
	r, err := runs.Create(t.TempDir(), "e", runs.Options{Name: "open"})
	if err != nil {
		t.Fatal(err)
	}
	start, err := time.Parse(time.RFC3339, r.Meta().StartTime.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(r.Dir(), Options{Ending: runs.Finished, End: start.Add(90 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if m := meta(p); m["status"] != "finished" || m["duration"] != "1m30s" {
		t.Errorf("status %q duration %q, want finished 1m30s", m["status"], m["duration"])
	}
	if p, err = Build(r.Dir(), Options{}); err != nil || meta(p)["status"] != "running" {
		t.Errorf("without Ending: status %q (%v), want running", meta(p)["status"], err)
	}
}

// TestBuildLayout: the headline comes first, with a table per task whose
// cells are results.json's mean ± std over seeds (and the paper's figure
// only when asked); per-label tables, ROC, retrieval and training curves
// follow; the parameters and raw metrics come last, collapsed, counts as
// integers.
func TestBuildLayout(t *testing.T) {
	r, entries := fixtureRun(t, t.TempDir())
	r.Finish(runs.Finished)
	for _, paper := range []bool{false, true} {
		p, err := Build(r.Dir(), Options{Inits: []string{"convirt", "random"}, Paper: paper})
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, s := range p.Sections {
			titles = append(titles, s.Title)
		}
		if got := strings.Join(titles, " | "); got != "Headline: label efficiency | Per-label results | ROC curves | Retrieval | Pretraining curves" {
			t.Errorf("sections %q", got)
		}
		head := p.Sections[0]
		if len(head.Figures) != 1 || len(head.Tables) != 1 || !strings.Contains(head.Intro, "one standard deviation over seeds") {
			t.Fatalf("headline %+v", head)
		}
		tb := head.Tables[0]
		if strings.Join(tb.Header, ",") != "init,1% of labels,10% of labels,100% of labels" || tb.Rows[0][0] != "convirt" || tb.Rows[1][0] != "random" {
			t.Errorf("headline table %v %v", tb.Header, tb.Rows)
		}
		var first = entries[0] // convirt, linear, auc, 1%
		if first.Metric != "auc" || first.Fraction != 0.01 {
			t.Fatalf("fixture's first entry %+v", first)
		}
		cell := tb.Rows[0][1]
		if !strings.HasPrefix(cell, cellText(first)) || strings.Contains(cell, "paper") != paper {
			t.Errorf("paper %v: cell %q, want %q with the paper's figure only for a paper recipe", paper, cell, cellText(first))
		}
		if paper && cell != cellText(first)+" (paper 85.9)" {
			t.Errorf("cell %q, want the paper's 85.9 beside it", cell)
		}
		if n := len(p.Sections[1].Tables); n != 2 || len(p.Sections[1].Tables[0].Rows) != len(fixtureLabels) {
			t.Errorf("per-label tables %+v", p.Sections[1].Tables)
		}
		if len(p.Sections[2].Figures) != 2 || len(p.Sections[3].Retrieval) != 2 || len(p.Sections[4].Figures) != 2 {
			t.Errorf("ROC %d figures, retrieval %d examples, training %d figures; want 2, 2, 2",
				len(p.Sections[2].Figures), len(p.Sections[3].Retrieval), len(p.Sections[4].Figures))
		}
	}
	p, _ := Build(r.Dir(), Options{})
	if err := WriteHTML(r.Dir(), p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(r.Path(runs.ReportFile))
	html := string(b)
	h, raw := strings.Index(html, "Headline"), strings.Index(html, `<details id="raw-metrics">`)
	if h < 0 || raw < h || strings.Contains(html, "<details open") {
		t.Errorf("headline at %d, collapsed raw metrics at %d", h, raw)
	}
	if !strings.Contains(html, "<td>237</td>") {
		t.Error("the count 237 is not printed as an integer")
	}
}

func TestFormatMetric(t *testing.T) {
	for v, want := range map[float64]string{237: "237", 0: "0", -3: "-3", 0.5: "0.5000", 1e-4: "1.000e-04", 123456.5: "1.235e+05"} {
		if got := formatMetric(v); got != want {
			t.Errorf("formatMetric(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestROCEverySeed: the ROC plot of a cell holds every seed's predictions
// at the largest fraction, and rocPoints takes tied scores together and
// skips unknown truths.
func TestROCEverySeed(t *testing.T) {
	r, _ := fixtureRun(t, t.TempDir())
	// A smaller fraction's predictions are not the plot's.
	writeCSV := filepath.Join(runs.PredictionsDir, "chexpert-linear", "linear", "convirt", "f0.1", "seed-1.csv")
	if err := r.WriteFileAtomic(writeCSV, []byte("id,Edema:true,Edema:score\na,1,0.9\nb,0,0.1\n")); err != nil {
		t.Fatal(err)
	}
	figs, err := ROCFromRun(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || !strings.Contains(figs[0].Title, "init convirt, 100% of the labels, every seed") {
		t.Fatalf("figures %+v", figs)
	}
	cells, _ := rocCells(r.Dir())
	for _, c := range cells {
		if c.fraction != 1 {
			t.Errorf("cell %+v: want the largest fraction", c)
		}
	}
	fpr, tpr, ok := rocPoints([]float32{0.9, 0.5, 0.5, 0.1, 0.7}, []float64{1, 1, 0, 0, nan()})
	if !ok || !equal(fpr, []float64{0, 0, 0.5, 1}) || !equal(tpr, []float64{0, 0.5, 1, 1}) {
		t.Errorf("rocPoints = %v %v", fpr, tpr)
	}
	if _, _, ok := rocPoints([]float32{1, 2}, []float64{1, 1}); ok {
		t.Error("one class gave a ROC curve")
	}
	if got := aucLegend("Edema", 0.5, 0, 1); got != "Edema: AUC 0.500 (one seed)" {
		t.Errorf("one seed's legend %q", got)
	}
	if got := aucLegend("Edema", 0.5, 0.01, 3); got != "Edema: AUC 0.500 ± 0.010 (std over 3 seeds)" {
		t.Errorf("three seeds' legend %q", got)
	}
}

// TestLossFromRunDrawsLR: the learning rate gets its own plot when core/train
// logged it, and evaluation keys mentioning "loss" stay out of the
// pretraining loss plot.
func TestLossFromRunDrawsLR(t *testing.T) {
	for _, withLR := range []bool{false, true} {
		r, err := runs.Create(t.TempDir(), "e", runs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			r.LogMetric("train/loss", 1/float64(i+1), int64(i))
			if withLR {
				r.LogMetric(LRKey, 1e-4, int64(i))
			}
		}
		r.Sync()
		if err := LossFromRun(r.Dir()); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, r.Path(runs.PlotsDir, LossPlot))
		if _, err := os.Stat(r.Path(runs.PlotsDir, LRPlot)); (err == nil) != withLR {
			t.Errorf("train/lr logged %v, lr.png: %v", withLR, err)
		}
	}
	if isTrainingLoss("eval/x/linear/convirt/f1/loss") || !isTrainingLoss("val/loss") || isTrainingLoss(LRKey) {
		t.Error("isTrainingLoss")
	}
}

// TestFitFlatY: a constant learning rate keeps its scale on the y axis.
func TestFitFlatY(t *testing.T) {
	p := plot.New()
	fitFlatY(p, []Series{{X: []float64{0, 1, 2}, Y: []float64{1e-4, 1e-4, math.NaN()}}})
	if math.Abs(p.Y.Min-5e-5) > 1e-12 || math.Abs(p.Y.Max-1.5e-4) > 1e-12 {
		t.Errorf("y range [%v, %v], want [5e-5, 1.5e-4]", p.Y.Min, p.Y.Max)
	}
	p = plot.New()
	min0, max0 := p.Y.Min, p.Y.Max
	fitFlatY(p, []Series{{X: []float64{0, 1}, Y: []float64{1, 2}}})
	if p.Y.Min != min0 || p.Y.Max != max0 {
		t.Errorf("a varying series' range set: [%v, %v]", p.Y.Min, p.Y.Max)
	}
}

func TestThumbnail(t *testing.T) {
	pix := make([]float32, 3*200*100)
	for i := range pix {
		pix[i] = float32(i%7) - 3
	}
	b, err := Thumbnail(3, 200, 100, pix)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dy() != ThumbSize || b.Dx() != ThumbSize/2 {
		t.Errorf("thumbnail %v of a 200x100 image, want at most %d a side, aspect kept", b, ThumbSize)
	}
	if _, err := Thumbnail(2, 2, 2, make([]float32, 8)); err == nil {
		t.Error("two channels accepted")
	}
	if _, err := Thumbnail(1, 2, 2, make([]float32, 3)); err == nil {
		t.Error("wrong length accepted")
	}
	if _, err := pngURI([]byte("not a png")); err == nil {
		t.Error("a damaged thumbnail accepted")
	}
}

func nan() float64 { var z float64; return z / z }

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReadTables: a run's tables.md, as core/experiment writes it, reads back
// as its tables with their notes, so `runs report` shows them too; a
// malformed one is an error naming the file.
func TestReadTables(t *testing.T) {
	dir := t.TempDir()
	if tbs, err := ReadTables(dir); err != nil || tbs != nil {
		t.Fatalf("no tables.md: %v %v", tbs, err)
	}
	md := "### Classification: linear\n\n| init | chexpert auc 25% |\n|---|---|\n| convirt | 52.4 ± 0.0 |\n\nCells: mean ± std.\n\n" +
		"### Retrieval\n\n| init | p@5 |\n|---|---|\n| convirt | 10.0 |\n"
	if err := os.WriteFile(filepath.Join(dir, runs.TablesFile), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	tbs, err := ReadTables(dir)
	if err != nil || len(tbs) != 2 {
		t.Fatalf("tables %+v %v", tbs, err)
	}
	if tbs[0].Title != "Classification: linear" || tbs[0].Rows[0][1] != "52.4 ± 0.0" || tbs[0].Note != "Cells: mean ± std." || tbs[1].Note != "" || tbs[1].Rows[0][1] != "10.0" {
		t.Errorf("tables %+v", tbs)
	}
	if err := os.WriteFile(filepath.Join(dir, runs.TablesFile), []byte("### T\n\n| a | b |\n|---|---|\n| 1 |\n"), 0o644); err == nil {
		if _, err := ReadTables(dir); err == nil || !strings.Contains(err.Error(), runs.TablesFile) {
			t.Errorf("ragged table: %v", err)
		}
	}
}
