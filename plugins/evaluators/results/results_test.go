package results

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

func entry(t *testing.T, task, protocol, init string, fraction float64, metric string, values ...float64) Entry {
	t.Helper()
	seeds := make([]uint64, len(values))
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	e, err := Aggregate(Entry{Task: task, Protocol: protocol, Init: init, Fraction: fraction, Metric: metric}, seeds, values, metrics.Interval{Lo: 0.1, Hi: 0.9})
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
	if e := f.Entries[0]; math.Abs(e.Mean-0.91) > 1e-12 || math.Abs(e.Std-0.01) > 1e-12 || e.CI95 != [2]float64{0.1, 0.9} {
		t.Errorf("aggregate %+v", e)
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
	for _, k := range []string{`"version": 1`, `"task": "rsna"`, `"ci95": [`, `"seeds": [`, `"values": [`, `"fraction": 0.01`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("results.json lacks %s:\n%s", k, raw)
		}
	}
	bad := &File{Entries: []Entry{{Task: "x", Protocol: "linear", Init: "random", Metric: "auc", Fraction: 2, Seeds: []uint64{1}, Values: []float64{1}}}}
	if err := Write(filepath.Join(t.TempDir(), "r.json"), bad); err == nil {
		t.Error("fraction 2 accepted")
	}
	os.WriteFile(path, []byte(`{"version":9,"entries":[]}`), 0o644)
	if _, err := Read(path); err == nil {
		t.Error("version 9 accepted")
	}
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
