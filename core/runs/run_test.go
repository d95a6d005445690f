package runs

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCreateLayoutAndFinish(t *testing.T) {
	root := t.TempDir()
	r, err := Create(root, "pretrain", Options{Name: "demo", Tags: map[string]string{"a": "1"}, EnvExtra: map[string]string{"device": "cpu"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir() != filepath.Join(root, "pretrain", r.ID()) {
		t.Fatalf("dir %s", r.Dir())
	}
	for _, f := range append([]string{MetaFile, ParamsFile, TagsFile, MetricsFile}, subdirs...) {
		if _, err := os.Stat(r.Path(f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(root, "pretrain"))
	if len(ents) != 1 {
		t.Errorf("experiment dir has %d entries, want only the run", len(ents))
	}
	m, err := ReadMeta(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != Running || m.Name != "demo" || m.Env.GoVersion == "" || m.Env.Extra["device"] != "cpu" || m.StartTime.IsZero() {
		t.Errorf("meta %+v", m)
	}
	if err := r.LogMetric("loss", 1.5, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(Finished); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(Failed); err == nil {
		t.Error("second Finish succeeded")
	}
	m, _ = ReadMeta(r.Dir())
	if m.Status != Finished || m.EndTime.Before(m.StartTime) {
		t.Errorf("after finish %+v", m)
	}
	ms, err := ReadMetrics(r.Dir())
	if err != nil || len(ms) != 1 || ms[0].Value != 1.5 {
		t.Errorf("metrics %v %v", ms, err)
	}
}

func TestBadExperimentName(t *testing.T) {
	for _, name := range []string{"", "..", "a/b", ".hidden"} {
		if _, err := Create(t.TempDir(), name, Options{}); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
}

func TestParamsTagsAndRedaction(t *testing.T) {
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LogParams(map[string]string{"lr": "0.001", Text("report"): "No effusion."}); err != nil {
		t.Fatal(err)
	}
	if err := r.LogParam("lr", "0.001"); err != nil {
		t.Errorf("re-logging the same value: %v", err)
	}
	if err := r.LogParam("lr", "0.1"); err == nil || !strings.Contains(err.Error(), `"lr"`) {
		t.Errorf("changing a param: %v", err)
	}
	if err := r.SetTag("k", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTag("k", "v2"); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	p := r2.Params()
	if p["lr"] != "0.001" || p["text:report"] != Redacted || r2.Tags()["k"] != "v2" {
		t.Errorf("params %v tags %v", p, r2.Tags())
	}
	b, _ := os.ReadFile(r.Path(ParamsFile))
	if strings.Contains(string(b), "effusion") {
		t.Error("patient text reached params.json")
	}
	allowed, _ := Create(t.TempDir(), "e", Options{AllowText: true})
	allowed.LogParam("text:report", "No effusion.")
	if allowed.Params()["text:report"] != "No effusion." {
		t.Error("AllowText did not keep the text")
	}
}

func TestMetricsNaNAndCrashTail(t *testing.T) {
	r, err := Create(t.TempDir(), "e", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		r.LogMetric("loss", float64(i), int64(i))
	}
	r.LogMetric("loss", math.NaN(), 100)
	r.LogMetric("acc", math.Inf(1), 100)
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	// Simulate a crash in the middle of a line.
	f, _ := os.OpenFile(r.Path(MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"loss","val`)
	f.Close()
	ms, err := ReadMetrics(r.Dir())
	if err != nil || len(ms) != 102 {
		t.Fatalf("read %d metrics, err %v", len(ms), err)
	}
	fin := Final(ms)
	if !math.IsNaN(fin["loss"].Value) || !math.IsInf(fin["acc"].Value, 1) || fin["loss"].Step != 100 {
		t.Errorf("final %v", fin)
	}
	if h := History(ms, "loss"); len(h) != 101 || h[3].Value != 3 {
		t.Errorf("history len %d", len(h))
	}
	// Reopening and appending trims the cut line first.
	r2, _ := Open(r.Dir())
	r2.LogMetric("loss", 7, 101)
	r2.Sync()
	ms, err = ReadMetrics(r.Dir())
	if err != nil || len(ms) != 103 || ms[102].Value != 7 {
		t.Fatalf("after reopen: %d metrics, err %v", len(ms), err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	r, _ := Create(t.TempDir(), "e", Options{})
	if err := r.WriteFileAtomic("predictions/p.csv", []byte("a,b\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(r.Path("predictions", "p.csv")); string(b) != "a,b\n" {
		t.Errorf("content %q", b)
	}
	for _, bad := range []string{"../x", "/etc/x", "", "a/../../x"} {
		if err := r.WriteFileAtomic(bad, nil); err == nil {
			t.Errorf("WriteFileAtomic(%q) succeeded", bad)
		}
	}
	ents, _ := os.ReadDir(r.Path(PredictionsDir))
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
	src := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(src, []byte{1, 2}, 0o644)
	if err := r.LogArtifact("sub/x.bin", src); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(r.Path(ArtifactsDir, "sub", "x.bin")); len(b) != 2 {
		t.Error("artifact not copied")
	}
}

func TestListChildrenFind(t *testing.T) {
	root := t.TempDir()
	parent, _ := Create(root, "sweep", Options{Name: "parent"})
	var kids []*Run
	for range 3 {
		k, err := Create(root, "sweep", Options{ParentID: parent.ID()})
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, k)
	}
	other, _ := Create(root, "other", Options{})
	kids[0].Finish(Failed)
	os.MkdirAll(filepath.Join(root, "sweep", "junk"), 0o755) // no meta.json: skipped
	all, err := List(root, Filter{})
	if err != nil || len(all) != 5 {
		t.Fatalf("List: %d, %v", len(all), err)
	}
	if l, _ := List(root, Filter{Experiment: "other"}); len(l) != 1 || l[0].ID != other.ID() {
		t.Errorf("experiment filter: %v", l)
	}
	if l, _ := List(root, Filter{Status: Failed}); len(l) != 1 || l[0].ID != kids[0].ID() {
		t.Errorf("status filter: %v", l)
	}
	if c, _ := Children(root, parent.ID()); len(c) != 3 {
		t.Errorf("children: %d", len(c))
	}
	if m, err := Find(root, other.ID()[:8]); err != nil || m.ID != other.ID() {
		t.Errorf("Find prefix: %v %v", m.ID, err)
	}
	if m, err := Find(root, other.Dir()); err != nil || m.ID != other.ID() {
		t.Errorf("Find dir: %v", err)
	}
	if _, err := Find(root, "zzzzzz"); err == nil {
		t.Error("Find of a missing run succeeded")
	}
	if l, err := List(filepath.Join(root, "nope"), Filter{}); err != nil || l != nil {
		t.Errorf("missing root: %v %v", l, err)
	}
}

type failTracker struct{ calls int }

func (f *failTracker) LogParams(map[string]string) error { f.calls++; return errors.New("boom") }
func (f *failTracker) LogMetrics([]Metric) error         { f.calls++; return nil }
func (f *failTracker) SetTags(map[string]string) error   { f.calls++; return nil }
func (f *failTracker) LogArtifact(string, string) error  { f.calls++; return nil }
func (f *failTracker) Finish(Status) error               { f.calls++; return nil }

func TestMulti(t *testing.T) {
	r, _ := Create(t.TempDir(), "e", Options{})
	ft := &failTracker{}
	m := Multi{ft, r}
	if err := m.LogParams(map[string]string{"a": "1"}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err %v", err)
	}
	if r.Params()["a"] != "1" {
		t.Error("failure of one tracker stopped the next")
	}
	if err := m.Finish(Finished); err != nil || ft.calls != 2 {
		t.Errorf("finish %v calls %d", err, ft.calls)
	}
}

// TestHistoryOfAContinuedRun: a run continued from its checkpoint at step 2
// logs steps 3 and 4 again; its history has one value per step, the later
// attempt's, in step order, so its loss plot does not go back and forth.
func TestHistoryOfAContinuedRun(t *testing.T) {
	var ms []Metric
	for _, s := range []struct {
		step int64
		v    float64
	}{{1, 5}, {2, 4}, {3, 3.5}, {4, 3.4}, {3, 3.3}, {4, 3.1}, {5, 2.9}} {
		ms = append(ms, Metric{Key: "train/loss", Value: s.v, Step: s.step}, Metric{Key: "other", Value: -1, Step: s.step})
	}
	var got []float64
	for _, m := range History(ms, "train/loss") {
		got = append(got, float64(m.Step), m.Value)
	}
	if want := []float64{1, 5, 2, 4, 3, 3.3, 4, 3.1, 5, 2.9}; !slices.Equal(got, want) {
		t.Fatalf("history (step, value...) %v, want %v", got, want)
	}
}
