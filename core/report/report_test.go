package report

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != Width || b.Dy() != Height {
		t.Errorf("%s: %dx%d, want %dx%d", path, b.Dx(), b.Dy(), Width, Height)
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	steps := []float64{0, 1, 2, 3, 4}
	if err := Loss(filepath.Join(dir, "loss.png"), []Series{
		{Name: "train", X: steps, Y: []float64{2, 1.5, 1.2, math.NaN(), 1}},
		{Name: "val", X: steps, Y: []float64{2.1, 1.7, 1.4, 1.3, 1.25}},
	}, Axes{Title: "loss", X: "step", Y: "loss"}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "loss.png"))
	if err := ROC(filepath.Join(dir, "roc.png"), []Curve{
		{Name: "effusion", FPR: []float64{0, 0.1, 0.5, 1}, TPR: []float64{0, 0.7, 0.9, 1}, AUC: math.NaN()},
		{Name: "nodule", FPR: []float64{0, 1}, TPR: []float64{0, 1}, AUC: 0.5},
	}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "roc.png"))
	fr := []float64{0.01, 0.1, 1}
	if err := LabelEfficiency(filepath.Join(dir, "le.png"), []Series{
		{Name: "ConVIRT", X: fr, Y: []float64{0.91, 0.96, 0.97}, Err: []float64{0.01, 0.005, 0.002}},
		{Name: "random", X: fr, Y: []float64{0.62, 0.8, 0.9}, Err: []float64{0.03, 0.02, 0.01}},
	}, "mean AUC"); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "le.png"))
	if err := LabelEfficiency(filepath.Join(dir, "bad.png"), []Series{{Name: "x", X: []float64{0}, Y: []float64{1}}}, "m"); err == nil {
		t.Error("zero fraction on a log axis accepted")
	}
	if err := Loss(filepath.Join(dir, "bad.png"), []Series{{Name: "x", X: []float64{1, 2}, Y: []float64{1}}}, Axes{}); err == nil {
		t.Error("mismatched series accepted")
	}
}

func TestAUC(t *testing.T) {
	if a := AUC([]float64{0, 0.5, 1}, []float64{0, 1, 1}); math.Abs(a-0.75) > 1e-12 {
		t.Errorf("AUC %v", a)
	}
}

// finishWithLoss logs n steps of a falling loss in r, plots it, finishes
// the run and returns its page.
func finishWithLoss(t *testing.T, r *runs.Run, n int) Page {
	t.Helper()
	for i := range n {
		r.LogMetric("loss", 1/float64(i+1), int64(i))
	}
	r.Sync()
	ms, _ := runs.ReadMetrics(r.Dir())
	if err := Loss(r.Path(runs.PlotsDir, "loss.png"), MetricSeries(ms, "loss"), Axes{}); err != nil {
		t.Fatal(err)
	}
	r.Finish(runs.Finished)
	p, err := FromRun(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteHTMLSelfContained(t *testing.T) {
	root := t.TempDir()
	r, err := runs.Create(root, "e", runs.Options{Name: "demo <run>", EnvExtra: map[string]string{"libtorch": "1.13.1"}})
	if err != nil {
		t.Fatal(err)
	}
	r.LogParams(map[string]string{"lr": "0.001", "note": `<script>alert(1)</script>`})
	p := finishWithLoss(t, r, 10)
	tb, err := ParseMarkdownTable("Linear probe AUC", "| init | 1% | 10% |\n|---|--:|---|\n| ConVIRT | 0.91 | 0.96 |\n| random | 0.62 | 0.80 |")
	if err != nil || len(tb.Rows) != 2 || tb.Header[1] != "1%" {
		t.Fatalf("table %+v %v", tb, err)
	}
	p.Tables = append(p.Tables, tb)
	if err := WriteHTML(r.Dir(), p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(r.Path("report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"demo &lt;run&gt;", "Linear probe AUC", "ConVIRT", "0.1000", "libtorch", "1.13.1", "data:image/png;base64,"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("unescaped script in report")
	}
	ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//|[^d"#])|<link|<script|url\(`)
	if m := ext.FindString(html); m != "" {
		t.Errorf("external reference %q", m)
	}
	if _, err := ParseMarkdownTable("bad", "| a | b |\n|---|---|\n| 1 |"); err == nil {
		t.Error("ragged table accepted")
	}
}

// TestWriteHTMLRelativeRunDir is the demo's case: a recipe's "output: runs"
// makes the run directory relative to the working directory, and the report
// must still find its plots (it once joined the run directory twice).
func TestWriteHTMLRelativeRunDir(t *testing.T) {
	t.Chdir(t.TempDir())
	r, err := runs.Create("runs", "demo", runs.Options{Name: "relative"})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.IsAbs(r.Dir()) {
		t.Fatalf("run dir %q is absolute; the test needs a relative one", r.Dir())
	}
	p := finishWithLoss(t, r, 3)
	if len(p.Figures) != 1 {
		t.Fatalf("figures %+v, want the loss plot", p.Figures)
	}
	if err := WriteHTML(r.Dir(), p); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(r.Path("report.html")); err != nil || !strings.Contains(string(b), "data:image/png;base64,") {
		t.Fatalf("report.html: %v", err)
	}
}

// TestFromRunNamesBothRevisions: the report's header shows convirt's own
// revision apart from the project checkout's commit.
func TestFromRunNamesBothRevisions(t *testing.T) {
	r, err := runs.Create(t.TempDir(), "e", runs.Options{Name: "rev"})
	if err != nil {
		t.Fatal(err)
	}
	r.Finish(runs.Finished)
	path := r.Path("meta.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	env := meta["env"].(map[string]any)
	env["convirt"] = map[string]any{"version": "v1.2.3", "revision": "abc123", "modified": true}
	env["git_commit"], env["git_dirty"] = "def456", false
	if b, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := FromRun(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range p.Meta {
		got[kv[0]] = kv[1]
	}
	if got["convirt"] != "v1.2.3 abc123+dirty" || got["project git"] != "def456" {
		t.Errorf("meta %v: want convirt v1.2.3 abc123+dirty and project git def456", p.Meta)
	}
}
