package runs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// listingRuns are three pretraining runs of a sweep over tau and batch
// size and one evaluation-less run of another experiment, under the
// relative folder "runs" of a fresh working directory.
func listingRuns(t *testing.T) []Meta {
	t.Chdir(t.TempDir())
	common := func(tau, batch string) map[string]string {
		return map[string]string{"name": "sweep", "seed": "0", "loss.config.tau": tau, "train.batch_size": batch}
	}
	evals := func(loss, f001, f1, random float64) map[string]float64 {
		return map[string]float64{ValLossKey: loss, TrainLossKey: loss + 0.1, linearAUC("convirt", "0.01"): f001, linearAUC("convirt", "1"): f1,
			linearAUC("random", "1"): random, linearAUC("convirt", "1") + ":Edema": f1 - 0.05, "eval/chexpert-linear/linear/convirt/f1/test_examples": 237}
	}
	return makeRuns(t, "runs",
		testRun{exp: "sweep", name: "tau0.1", params: common("0.1", "64"), metrics: evals(2.5, 0.80, 0.85, 0.6), status: Finished},
		testRun{exp: "sweep", name: "tau0.05", params: common("0.05", "64"), metrics: evals(2.25, 0.82, 0.9, 0.6), status: Finished},
		testRun{exp: "sweep", name: "tau0.2", params: common("0.2", "128"), metrics: map[string]float64{TrainLossKey: 3}, status: Failed},
		testRun{exp: "other", name: "x", params: map[string]string{"seed": "1"}, status: Running},
	)
}

func TestListing(t *testing.T) {
	all := listingRuns(t)
	sweep := slices.DeleteFunc(slices.Clone(all), func(m Meta) bool { return m.Experiment != "sweep" })
	ids := func(ms []Meta) (out []string) {
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	for _, c := range []struct {
		name            string
		runs            []Meta
		params, metrics string
		sort            string
		wantParams      []string
		wantMetrics     []string
		wantOrder       []string
		wantText        []string
	}{
		{
			name: "defaults: the params that differ, the pretrained headline", runs: sweep, sort: "name",
			wantParams:  []string{"loss.config.tau", "train.batch_size"},
			wantMetrics: []string{ValLossKey, linearAUC("convirt", "0.01"), linearAUC("convirt", "1")},
			wantOrder:   []string{"tau0.05", "tau0.1", "tau0.2"},
			wantText: []string{"tau   batch_size  val/loss  f0.01/auc  f1/auc", "0.05  64          2.25      0.82       0.9",
				"0.2   128         -         -          -", "  f0.01/auc  " + linearAUC("convirt", "0.01")},
		},
		{
			name: "chosen columns, sorted by a metric's header, descending", runs: sweep, params: "seed,tau", metrics: "linear/*/auc", sort: "-convirt/f1/auc",
			wantParams:  []string{"seed", "loss.config.tau"},
			wantMetrics: []string{linearAUC("convirt", "0.01"), linearAUC("convirt", "1"), linearAUC("random", "1")},
			wantOrder:   []string{"tau0.05", "tau0.1", "tau0.2"}, // the run without it last
			wantText:    []string{"convirt/f0.01/auc", "random/f1/auc"},
		},
		{
			name: "ascending by a glob that names one column, and by a param", runs: sweep, sort: "val/*",
			wantParams:  []string{"loss.config.tau", "train.batch_size"},
			wantMetrics: []string{ValLossKey, linearAUC("convirt", "0.01"), linearAUC("convirt", "1")},
			wantOrder:   []string{"tau0.05", "tau0.1", "tau0.2"},
		},
		{
			name: "params sort as numbers", runs: sweep, sort: "-tau",
			wantParams:  []string{"loss.config.tau", "train.batch_size"},
			wantMetrics: []string{ValLossKey, linearAUC("convirt", "0.01"), linearAUC("convirt", "1")},
			wantOrder:   []string{"tau0.2", "tau0.1", "tau0.05"},
		},
		{
			name: "nothing matches", runs: sweep, params: "nope", metrics: "nope", sort: "name",
			wantOrder: []string{"tau0.05", "tau0.1", "tau0.2"},
			wantText:  []string{"(no param matches --params nope)", "(no metric matches --metrics nope)"},
		},
		{
			name: "across experiments: the differing params, no name or experiment", runs: all, sort: "experiment",
			wantParams:  []string{"loss.config.tau", "seed", "train.batch_size"},
			wantMetrics: []string{ValLossKey, linearAUC("convirt", "0.01"), linearAUC("convirt", "1")},
			wantText:    []string{"running"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := ListOptions{Warn: func(err error) { t.Error(err) }}
			var err error
			if c.params != "" {
				o.Params, _ = ParsePatterns(c.params)
			}
			if c.metrics != "" {
				o.Metrics, _ = ParsePatterns(c.metrics)
			}
			l, err := NewListing(slices.Clone(c.runs), o)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Sort(c.sort); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.ParamCols, c.wantParams) || !slices.Equal(l.MetricCols, c.wantMetrics) {
				t.Errorf("columns: params %v, metrics %v; want %v, %v", l.ParamCols, l.MetricCols, c.wantParams, c.wantMetrics)
			}
			if c.wantOrder != nil && !slices.Equal(ids(l.Runs), c.wantOrder) {
				t.Errorf("order %v, want %v", ids(l.Runs), c.wantOrder)
			}
			var b bytes.Buffer
			if err := l.Write(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.wantText {
				if !strings.Contains(b.String(), w) {
					t.Errorf("listing lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestListingLimitsAndErrors(t *testing.T) {
	all := listingRuns(t)
	params := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		params[k] = k
	}
	more := makeRuns(t, "runs", testRun{exp: "sweep", name: "many", params: params, status: Finished})
	l, err := NewListing(slices.Concat(all[:1], more), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.ParamCols) != DefaultListParams || len(l.LeftParams) != 9-DefaultListParams {
		t.Errorf("params %v, left out %v", l.ParamCols, l.LeftParams)
	}
	var b bytes.Buffer
	l.Write(&b)
	if !strings.Contains(b.String(), "5 more params differ: e, f, loss.config.tau, seed, train.batch_size; choose columns with --params") {
		t.Errorf("no note on the params left out:\n%s", b.String())
	}
	if err := l.Sort("nope"); err == nil || !strings.Contains(err.Error(), "sort by one of start, name, experiment, status, duration, id, a, b, c, d, val/loss, f0.01/auc, f1/auc") {
		t.Errorf("sort by an unknown column: %v", err)
	}
	if err := l.Sort("auc"); err == nil || !strings.Contains(err.Error(), "matches 2 columns") {
		t.Errorf("sort by a pattern matching two columns: %v", err)
	}
	// A damaged metrics file is reported, and the run still listed.
	if err := os.WriteFile(filepath.Join(all[0].Dir, MetricsFile), []byte("{bad\n{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var warned []error
	l, err = NewListing(all, ListOptions{Warn: func(err error) { warned = append(warned, err) }})
	if err != nil || len(l.Runs) != len(all) || len(warned) != 1 || !strings.Contains(warned[0].Error(), filepath.Join("runs", "sweep", all[0].ID, MetricsFile)+":1") {
		t.Errorf("listing with a damaged run: %v, warnings %v", err, warned)
	}
}

func TestParseStatusAndFindParent(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Status
		ok   bool
	}{{"", "", true}, {"running", Running, true}, {"killed", Killed, true}, {"done", "", false}, {"Finished", "", false}} {
		got, err := ParseStatus(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("ParseStatus(%q) = %q, %v", c.in, got, err)
		}
	}
	t.Chdir(t.TempDir())
	parent := makeRuns(t, "runs", testRun{exp: "sweep", name: "parent", status: Finished})[0]
	r, err := Create("runs", "sweep", Options{ParentID: parent.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, want string
		remove   bool
	}{{parent.ID[:6], parent.ID, false}, {parent.Dir, parent.ID, false}, {parent.ID, parent.ID, true}, {parent.ID[:6], "", false}, {r.ID(), r.ID(), false}} {
		if c.remove {
			if _, err := Remove(parent, false); err != nil {
				t.Fatal(err)
			}
		}
		got, err := FindParent("runs", c.id)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("FindParent(%q) = %q, %v; want %q", c.id, got, err, c.want)
		}
	}
}
