package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/mlflow"
	"github.com/convirt/convirt/core/mlflow/mlflowtest"
	"github.com/convirt/convirt/core/runs"
)

// The evaluation metric the one-probe recipe must record: metricKey of
// "eval/" + cellName("probe", "linear", "convirt", 1) + "/auc".
const evalAUC = "eval/probe/linear/convirt/f1/auc"

// oneProbe trims the tiny recipe's evaluations to one linear probe of the
// pretrained encoder on all the labels with one seed, to keep the run short.
func oneProbe(t *testing.T) func(string) string {
	return func(y string) string {
		t.Helper()
		from := "    fractions: [0.25, 1.0]\n    seeds: 2\n    inits: [convirt, random]\n"
		i := strings.Index(y, "  - name: retrieval\n")
		if !strings.Contains(y, from) || i < 0 {
			t.Fatal("the tiny recipe changed: update oneProbe")
		}
		return strings.Replace(y[:i], from, "    fractions: [1.0]\n    seeds: 1\n    inits: [convirt]\n", 1)
	}
}

// runTracked runs the one-probe tiny recipe with tracking.mlflow.uri set to
// uri and returns the local run directory.
func runTracked(t *testing.T, uri string) (dir, recipePath, stdout, stderr string) {
	t.Helper()
	t.Setenv("MLFLOW_TRACKING_URI", "")
	path, runsDir := writeTiny(t, oneProbe(t))
	dir, out, errs := runOnly(t, runsDir, "run", path, "--set", "tracking.mlflow.uri="+uri)
	return dir, path, out, errs
}

func TestRunRecordsToMLflow(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	srv := mlflowtest.NewServer(t)
	dir, recipePath, out, errs := runTracked(t, srv.URL)
	local, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	meta := local.Meta()
	r := srv.OnlyRun(t)
	if id, ok := srv.ExperimentID("e2e"); !ok || r.Info.ExperimentID != id {
		t.Errorf("run in experiment %q; experiment e2e: %q %v", r.Info.ExperimentID, id, ok)
	}
	// The report, results and plots are uploaded as artifacts during the run.
	for _, want := range []string{"/artifacts/report.html", "/artifacts/results.json", "/artifacts/resolved.yaml", "/artifacts/plots/loss.png"} {
		found := false
		for k := range srv.Artifacts() {
			found = found || strings.HasSuffix(k, r.Info.RunID+want)
		}
		if !found {
			t.Errorf("artifact %s not uploaded", want)
		}
	}
	if r.Info.Status != mlflow.StatusFinished || r.Info.EndTime == 0 || r.Info.RunName != meta.Name {
		t.Errorf("run info %+v", r.Info)
	}
	if got := mlflow.RunIDOf(dir); got != r.Info.RunID {
		t.Errorf("%s records MLflow run %q, server has %q", mlflow.StateFile, got, r.Info.RunID)
	}
	if st, err := os.Stat(filepath.Join(dir, mlflow.SpoolFile)); err == nil && st.Size() > 0 {
		t.Errorf("%d bytes left in the spool with the server up", st.Size())
	}

	// Reserved tags: filled from the local run's record (the commit is
	// empty, hence not sent, outside a git checkout); no parent outside a
	// sweep. The other tags (environment, plugin versions) match too.
	reserved := map[string]string{mlflow.TagRunName: meta.Name, mlflow.TagUser: meta.Env.User, mlflow.TagGitCommit: meta.Env.GitCommit}
	for k, v := range reserved {
		if got, ok := r.Tags[k]; got != v || ok != (v != "") {
			t.Errorf("tag %s = %q (sent: %v), want %q", k, got, ok, v)
		}
	}
	for k, v := range local.Tags() {
		if r.Tags[k] != v {
			t.Errorf("tag %s = %q, the local run has %q", k, r.Tags[k], v)
		}
	}
	if meta.Env.User == "" {
		t.Error("the local run records no user")
	}
	if v, ok := r.Tags[mlflow.TagParentRun]; ok {
		t.Errorf("a run outside a sweep has parent %q", v)
	}

	// Params: every param of the local run, train.lr among them.
	params := local.Params()
	if params["train.lr"] != "0.001" || r.Params["train.lr"] != "0.001" {
		t.Errorf("train.lr: local %q, MLflow %q", params["train.lr"], r.Params["train.lr"])
	}
	if len(r.Params) != len(params) {
		t.Errorf("MLflow has %d params, the local run %d", len(r.Params), len(params))
	}
	for k, v := range params {
		if got := r.Params[k]; got != v && (len(v) <= mlflow.MaxParamValueLength || !strings.HasPrefix(v, got)) {
			t.Errorf("param %s: MLflow %q, local %q", k, got, v)
		}
	}

	// Metrics: every value recorded locally, in the same order.
	ms, err := runs.ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	localVals := map[string][]float64{}
	for _, m := range ms {
		localVals[m.Key] = append(localVals[m.Key], m.Value)
	}
	for _, k := range []string{"train/loss", evalAUC} {
		if len(localVals[k]) == 0 {
			t.Errorf("the local run has no %s; it has %v", k, slices.Sorted(maps.Keys(localVals)))
		}
	}
	if keys := r.MetricKeys(); len(keys) != len(localVals) {
		t.Errorf("MLflow has metrics %v, the local run %v", keys, slices.Sorted(maps.Keys(localVals)))
	}
	for k, vs := range localVals {
		same := func(a, b float64) bool { return a == b || a != a && b != b } // NaN is NaN
		if got := r.Values(k); !slices.EqualFunc(got, vs, same) {
			t.Errorf("metric %s: MLflow %v, local %v", k, got, vs)
		}
	}
	if s := r.Steps("train/loss"); len(s) == 0 || s[len(s)-1] != 4 {
		t.Errorf("train/loss steps %v, want up to max_steps 4", s)
	}

	// No patient text on the server or in the logs.
	texts := reportSentences(t, filepath.Join(filepath.Dir(recipePath), "data"), recipePath)
	var sent []string
	for _, kv := range []map[string]string{r.Params, r.Tags} {
		for k, v := range kv {
			sent = append(sent, k+"="+v)
		}
	}
	noText(t, "a param or tag", strings.Join(sent, "\n"), texts, true)
	noText(t, "a request to MLflow", strings.Join(srv.Bodies(), "\n"), texts, false)
	logs, _ := os.ReadFile(filepath.Join(dir, runs.LogsDir, "run.log"))
	noText(t, "the output or run.log", out+errs+string(logs), texts, false)
}

// reportSentences returns the sentences of the synthetic reports under
// data, after checking that they hold the finding names the check looks
// for and that the recipe (the source of the params) does not.
func reportSentences(t *testing.T, data, recipePath string) []string {
	t.Helper()
	var sentences []string
	var all strings.Builder
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") || d.Name() == "vocab.txt" {
			return nil
		}
		b, _ := os.ReadFile(p)
		all.Write(b)
		for _, s := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '.' || r == '\n' || r == ':' }) {
			if s = strings.TrimSpace(s); len(s) >= 20 {
				sentences = append(sentences, s)
			}
		}
		return nil
	})
	y, _ := os.ReadFile(recipePath)
	for _, w := range findingWords {
		if !strings.Contains(strings.ToLower(all.String()), w) || strings.Contains(strings.ToLower(string(y)), w) {
			t.Fatalf("the check is void: %q must be in the reports and not in the recipe", w)
		}
	}
	if len(sentences) < 20 {
		t.Fatalf("found %d report sentences under %s", len(sentences), data)
	}
	return sentences
}

var findingWords = []string{"effusion", "pneumothorax", "cardiomegaly"}

// noText fails when s holds a report sentence or, with words, a finding name.
func noText(t *testing.T, where, s string, sentences []string, words bool) {
	t.Helper()
	low := strings.ToLower(s)
	for _, x := range sentences {
		if strings.Contains(low, strings.ToLower(x)) {
			t.Errorf("report text %q in %s", x, where)
			return
		}
	}
	for _, w := range findingWords {
		if words && strings.Contains(low, w) {
			t.Errorf("report word %q in %s", w, where)
		}
	}
}
