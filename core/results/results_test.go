package results

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/stats"
)

func entry(t *testing.T, task, protocol, init string, fraction float64, metric string, values ...float64) Entry {
	t.Helper()
	seeds := make([]uint64, len(values))
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	e, err := Aggregate(Entry{Task: task, Protocol: protocol, Init: init, Fraction: fraction, Metric: metric}, seeds, values, stats.Interval{Lo: 0.1, Hi: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestJSONRoundTrip(t *testing.T) {
	f := &File{Entries: []Entry{
		entry(t, "rsna", "linear", "convirt", 0.01, "auc", 0.90, 0.91, 0.92),
		entry(t, "covidx", "finetune", "imagenet", 1, "accuracy", 0.88),
	}}
	// Sample std 0.01 over 3 seeds: 0.91 ± t_{0.975,2}·0.01/√3 = 0.91 ± 4.3027·0.005774.
	e := f.Entries[0]
	if math.Abs(e.Mean-0.91) > 1e-12 || math.Abs(e.Std-0.01) > 1e-12 || e.TestBootstrap95 != [2]float64{0.1, 0.9} ||
		e.SeedT95 == nil || math.Abs(e.SeedT95[0]-0.885158) > 1e-6 || math.Abs(e.SeedT95[1]-0.934842) > 1e-6 {
		t.Errorf("aggregate %+v seed_t95 %v", e, e.SeedT95)
	}
	if e.Notes != nil {
		t.Errorf("1%%, varying seeds: notes %q", e.Notes)
	}
	if one := f.Entries[1]; one.SeedT95 != nil || !reflect.DeepEqual(one.Notes, []string{NoteOneSeed}) {
		t.Errorf("one seed: seed_t95 %v notes %q", one.SeedT95, one.Notes)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("round trip:\n%+v\n%+v", got, f)
	}
	raw, _ := os.ReadFile(path)
	for _, k := range []string{`"version": 2`, `"task": "rsna"`, `"seed_t95": [`, `"test_bootstrap95": [`, `"seeds": [`, `"values": [`, `"fraction": 0.01`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("results.json lacks %s:\n%s", k, raw)
		}
	}
	if bytes.Contains(raw, []byte("ci95")) {
		t.Errorf("results.json still has ci95:\n%s", raw)
	}
	bad := &File{Entries: []Entry{{Task: "x", Protocol: "linear", Init: "random", Metric: "auc", Fraction: 2, Seeds: []uint64{1}, Values: []float64{1}}}}
	if err := Write(filepath.Join(t.TempDir(), "r.json"), bad); err == nil {
		t.Error("fraction 2 accepted")
	}
	noT := &File{Entries: []Entry{{Task: "x", Protocol: "linear", Init: "random", Metric: "auc", Fraction: 1, Seeds: []uint64{1, 2}, Values: []float64{1, 1}}}}
	if err := Write(filepath.Join(t.TempDir(), "r.json"), noT); err == nil || !strings.Contains(err.Error(), "seed_t95") {
		t.Errorf("two seeds without seed_t95: %v", err)
	}
	os.WriteFile(path, []byte(`{"version":9,"entries":[]}`), 0o644)
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("version 9: %v", err)
	}
}

// TestFullFractionNotes: at 100% of the labels the entry says that only the
// probe's randomness varies, and that identical values mean std 0 for want
// of variation.
func TestFullFractionNotes(t *testing.T) {
	e := entry(t, "chexpert", "linear", "random", 1, "auc", 0.967, 0.967, 0.967)
	if e.Std != 0 || *e.SeedT95 != [2]float64{e.Mean, e.Mean} || !reflect.DeepEqual(e.Notes, []string{NoteAllLabels, NoteIdentical}) {
		t.Errorf("100%%, identical: std %v seed_t95 %v notes %q", e.Std, e.SeedT95, e.Notes)
	}
	e = entry(t, "chexpert", "finetune", "random", 1, "auc", 0.96, 0.97)
	if !reflect.DeepEqual(e.Notes, []string{NoteAllLabels}) {
		t.Errorf("100%%, varying: notes %q", e.Notes)
	}
}

// TestReadVersion1 converts a version 1 file: its ci95 was the test-set
// bootstrap.
func TestReadVersion1(t *testing.T) {
	v1 := `{"version": 1, "entries": [
  {"task": "chexpert", "protocol": "linear", "init": "random", "fraction": 0.01, "metric": "auc",
   "mean": 0.738, "std": 0.139, "ci95": [0.719, 0.757], "seeds": [0, 1], "values": [0.5, 0.8]},
  {"task": "chexpert", "protocol": "linear", "init": "random", "fraction": 0.01, "metric": "auc:Edema",
   "mean": 0.7, "std": 0, "ci95": [0.6, 0.8], "seeds": [0, 1], "values": [0.7, 0.7]},
  {"task": "chexpert", "protocol": "linear", "init": "convirt", "fraction": 0.01, "metric": "auc:Other",
   "mean": 0.7, "std": 0, "ci95": [0.6, 0.8], "seeds": [0], "values": [0.7]}
]}`
	path := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	e := f.Entries[0]
	if f.Version != Version || e.TestBootstrap95 != [2]float64{0.719, 0.757} || e.Mean != 0.65 || e.SeedT95 == nil ||
		!reflect.DeepEqual(e.Labels, []string{"Edema"}) {
		t.Errorf("converted %+v (seed_t95 %v)", e, e.SeedT95)
	}
	// The t interval over two seeds, 0.65 ± 12.706·0.2121/√2.
	if math.Abs(e.SeedT95[0]-(0.65-12.7062*0.15)) > 1e-3 {
		t.Errorf("seed_t95 %v", e.SeedT95)
	}
}

// TestCell builds a linear cell's entries from an evaluator's scores and
// numbers.
func TestCell(t *testing.T) {
	seeds := []uint64{0, 1}
	scores := []Score{
		{Metric: "auc", Seeds: seeds, Values: []float64{0.8, 0.9}, TestBootstrap: stats.Interval{Lo: 0.8, Hi: 0.9}},
		{Metric: "auc:Edema", Seeds: seeds, Values: []float64{0.7, 0.9}, TestBootstrap: stats.Interval{Lo: 0.7, Hi: 0.9}},
		{Metric: "auc:Cardiomegaly", Seeds: seeds, Values: []float64{0.9, 0.9}, TestBootstrap: stats.Interval{Lo: 0.85, Hi: 0.95}},
	}
	counts := map[string]float64{sdk.ProbeL2Key(0): 10, sdk.ProbeL2Key(1): 0.1, sdk.ProbeSelectedKey: 1, sdk.ValExamplesKey: 485, sdk.ProbeUnconvergedKey: 1, "test_examples": 237}
	cell := Entry{Task: "chexpert", Protocol: "linear", Init: "random", Fraction: 0.01}
	es, err := Cell(cell, scores, counts)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || !reflect.DeepEqual(es[0].Labels, []string{"Edema", "Cardiomegaly"}) || es[1].Labels != nil {
		t.Fatalf("entries %+v", es)
	}
	for _, e := range es {
		if e.Probe == nil || !reflect.DeepEqual(e.Probe.L2, []float64{10, 0.1}) || !strings.Contains(e.Probe.Selection, "485 validation examples") {
			t.Errorf("%s: probe %+v", e.Metric, e.Probe)
		}
		if !slicesContainsPrefix(e.Notes, "1 of 2 probes stopped at the evaluator's max_iter") {
			t.Errorf("%s: notes %q", e.Metric, e.Notes)
		}
	}
	if !slicesContainsPrefix(es[2].Notes, NoteIdentical) {
		t.Errorf("identical per-label values: notes %q", es[2].Notes)
	}
	counts[sdk.ProbeSelectedKey] = 0
	if es, _ := Cell(cell, scores[:1], counts); !strings.Contains(es[0].Probe.Selection, "no validation split") {
		t.Errorf("default strength: %+v", es[0].Probe)
	}
	delete(counts, sdk.ProbeL2Key(1))
	if _, err := Cell(cell, scores, counts); err == nil || !strings.Contains(err.Error(), "1 of 2 seeds") {
		t.Errorf("one seed's strength missing: %v", err)
	}
	// Retrieval reports no probe.
	es, err = Cell(Entry{Task: "x", Protocol: "retrieval-text", Init: "convirt", Fraction: 1}, []Score{{Metric: "p@10", Seeds: []uint64{0}, Values: []float64{0.4}}}, map[string]float64{"queries": 30})
	if err != nil || es[0].Probe != nil || es[0].Labels != nil {
		t.Errorf("retrieval: %+v %v", es, err)
	}
}

func slicesContainsPrefix(xs []string, p string) bool {
	for _, x := range xs {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}

func TestTable1(t *testing.T) {
	es := []Entry{
		entry(t, "rsna", "linear", "convirt", 0.01, "auc", 0.90, 0.92),
		entry(t, "rsna", "linear", "convirt", 1, "auc", 0.921),
		entry(t, "rsna", "linear", "random", 0.01, "auc", 0.55),
		entry(t, "rsna", "finetune", "random", 0.01, "auc", 0.60),
	}
	cols := Columns(es, "linear")
	if len(cols) != 2 || cols[0].Fraction != 0.01 || cols[1].Fraction != 1 {
		t.Fatalf("columns %+v", cols)
	}
	got := Table1(es, "linear", []string{"random", "convirt"}, cols)
	want := "| init | rsna auc 1% | rsna auc 100% |\n" +
		"|---|---|---|\n" +
		"| random | 55.0 ± 0.0 | – |\n" +
		"| convirt | 91.0 ± 1.4 | 92.1 ± 0.0 |\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestRetrievalTable(t *testing.T) {
	es := []Entry{
		entry(t, "chexpert-8x200", "retrieval-text", "convirt", 1, "p@5", 0.60),
		entry(t, "chexpert-8x200", "retrieval-text", "convirt", 1, "p@10", 0.575),
		entry(t, "chexpert-8x200", "retrieval-image", "imagenet", 1, "p@10", 0.144),
	}
	got := RetrievalTable(es, []string{"retrieval-image", "retrieval-text"}, []string{"imagenet", "convirt"}, []string{"p@5", "p@10", "p@50"})
	want := "| init | protocol | p@5 | p@10 | p@50 |\n" +
		"|---|---|---|---|---|\n" +
		"| imagenet | retrieval-image | – | 14.4 ± 0.0 | – |\n" +
		"| convirt | retrieval-text | 60.0 ± 0.0 | 57.5 ± 0.0 | – |\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestPredictionsCSV(t *testing.T) {
	var b bytes.Buffer
	err := WriteLabelPredictions(&b, []string{"p1", "p2"}, []string{"Edema", "Atelectasis"},
		[][]float64{{1, math.NaN()}, {0, 1}}, [][]float32{{0.75, 0.5}, {0.25, 0.125}})
	if err != nil {
		t.Fatal(err)
	}
	want := "id,Edema:true,Edema:score,Atelectasis:true,Atelectasis:score\np1,1,0.75,,0.5\np2,0,0.25,1,0.125\n"
	if b.String() != want {
		t.Errorf("label CSV:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	err = WriteClassPredictions(&b, []string{"a"}, []string{"normal", "pneumonia", "COVID-19"}, []int{2}, [][]float32{{0.5, 0.25, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	want = "id,true,score:normal,score:pneumonia,score:COVID-19\na,COVID-19,0.5,0.25,0.25\n"
	if b.String() != want {
		t.Errorf("class CSV:\n%s\nwant:\n%s", b.String(), want)
	}
	if err := WriteClassPredictions(&b, []string{"a"}, []string{"x"}, []int{1}, [][]float32{{1}}); err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("bad class: err %v", err)
	}
}

func TestTable1Note(t *testing.T) {
	es := []Entry{
		entry(t, "chexpert", "linear", "convirt", 0.01, "auc", 0.90, 0.92),
		entry(t, "chexpert", "linear", "convirt", 1, "auc", 0.98, 0.98),
		entry(t, "chexpert", "linear", "random", 1, "auc", 0.96, 0.96),
	}
	note := Table1Note(es, "linear", Columns(es, "linear"))
	for _, want := range []string{"mean ± sample standard deviation over the seeds (n = 2)", "seed_t95", "test_bootstrap95",
		"differ only by the probe's own randomness", "identical values: ± 0.0 means nothing varied"} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q:\n%s", want, note)
		}
	}
	es[2] = entry(t, "chexpert", "linear", "random", 1, "auc", 0.95, 0.96)
	if note := Table1Note(es, "linear", Columns(es, "linear")); !strings.Contains(note, "in 1 of those 2 cells") {
		t.Errorf("mixed: %s", note)
	}
	if note := Table1Note(es[:1], "linear", Columns(es[:1], "linear")); strings.Contains(note, "100%") {
		t.Errorf("no 100%% column: %s", note)
	}
	one := []Entry{entry(t, "chexpert", "zeroshot", "convirt", 1, "auc", 0.6)}
	if note := Table1Note(one, "zeroshot", Columns(one, "zeroshot")); !strings.HasPrefix(note, "Cells: one run each (no seeds)") {
		t.Errorf("one run: %s", note)
	}
}

func TestReadPredictions(t *testing.T) {
	var b bytes.Buffer
	truth := [][]float64{{1, math.NaN()}, {0, 1}}
	scores := [][]float32{{0.75, 0.5}, {0.25, 0.1}}
	if err := WriteLabelPredictions(&b, []string{"p1", "p2"}, []string{"Edema", "Atelectasis"}, truth, scores); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPredictions(&b)
	if err != nil {
		t.Fatal(err)
	}
	lp, ok := got.(*LabelPredictions)
	if !ok || !reflect.DeepEqual(lp.IDs, []string{"p1", "p2"}) || !reflect.DeepEqual(lp.Labels, []string{"Edema", "Atelectasis"}) ||
		!reflect.DeepEqual(lp.Scores, scores) || lp.Truth[0][0] != 1 || !math.IsNaN(lp.Truth[0][1]) || lp.Truth[1][1] != 1 {
		t.Errorf("label predictions %+v", got)
	}
	b.Reset()
	if err := WriteClassPredictions(&b, []string{"a", "b"}, []string{"normal", "COVID-19"}, []int{1, 0}, [][]float32{{0.25, 0.75}, {0.5, 0.5}}); err != nil {
		t.Fatal(err)
	}
	got, err = ReadPredictions(&b)
	if cp, ok := got.(*ClassPredictions); err != nil || !ok || !reflect.DeepEqual(cp.Truth, []int{1, 0}) || cp.Scores[0][1] != 0.75 {
		t.Errorf("class predictions %+v %v", got, err)
	}
	for _, bad := range []string{"id,Edema:true\n", "id,Edema:true,Other:score\n", "id,Edema:true,Edema:score\na,1,x\n", "id,true,score:a\nx,b,0.5\n", "id,Edema:true,Edema:score\na,1\n"} {
		if _, err := ReadPredictions(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
