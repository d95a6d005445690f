package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
)

// TestRunsCommands drives the runs commands as a user types them, in a
// working directory holding a run store "runs" that core/runs' own
// writers made: two finished runs of a sweep over lr and a running one.
func TestRunsCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	auc := func(init, f string) string { return "eval/chexpert-linear/linear/" + init + "/f" + f + "/auc" }
	var ids []string
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		r, err := runs.Create("runs", "probe", runs.Options{Name: "lr" + lr})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogParams(map[string]string{"train.lr": lr, "train.batch_size": "64"}); err != nil {
			t.Fatal(err)
		}
		for s := range 5 {
			r.LogMetric(runs.ValLossKey, float64(5-s)+float64(i), int64(s))
		}
		r.LogMetric(auc("convirt", "0.01"), 0.8+0.1*float64(i), 4)
		r.LogMetric(auc("random", "0.01"), 0.6, 4)
		r.LogMetric(auc("random", "0.01")+":Edema", 0.65, 4)
		if i < 2 {
			err = r.Finish(runs.Finished)
		} else {
			err = r.Sync()
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	dir0 := filepath.Join("runs", "probe", ids[0])
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		want    []string // in stdout
		wantNot []string // in stdout
		wantErr []string // in stderr
		gone    string   // a run folder the command removes
		kept    string   // a run folder the command keeps
	}{
		{name: "list", args: []string{"runs", "list"}, want: []string{
			ids[0][:8], ids[1][:8], "lr0.1", "finished", "running",
			"lr     val/loss  f0.01/auc", // the differing param and the pretrained headline
			"0.01   2         0.9",
		}, wantNot: []string{"batch_size", "random"}},
		{name: "list chosen columns, filtered, sorted", args: []string{"runs", "list", "--status", "finished", "--params", "batch_size,lr",
			"--metrics", "linear/*/auc", "--sort", "-convirt/f0.01/auc"}, want: []string{"batch_size  lr    convirt/auc  random/auc", "  convirt/auc  " + auc("convirt", "0.01")},
			wantNot: []string{"running", "val/loss"}},
		{name: "list bad status", args: []string{"runs", "list", "--status", "done"}, code: 2, wantErr: []string{`--status: status "done": want running, finished, failed or killed`}},
		{name: "list bad sort", args: []string{"runs", "list", "--sort", "nope"}, code: 2, wantErr: []string{"sort by one of start"}},
		{name: "list with the old flag", args: []string{"runs", "list", "--dir", "runs"}, want: []string{ids[0][:8]}, wantErr: []string{"--dir is deprecated, use --runs runs"}},
		{name: "list elsewhere", args: []string{"runs", "list", "--runs", "nowhere"}, want: []string{"no runs under nowhere"}},
		{name: "show", args: []string{"runs", "show", ids[0][:8]}, want: []string{
			"run          " + ids[0], "files in " + dir0 + ":", "params (2):", "train.lr          0.1",
			"headline metrics:", auc("convirt", "0.01") + "  0.8", "(1 more metrics",
		}, wantNot: []string{"map["}},
		{name: "show json by run folder", args: []string{"runs", "show", "--json", dir0}, want: []string{`"id":"` + ids[0] + `"`, `"train.lr":"0.1"`, `:Edema"`}},
		{name: "compare", args: []string{"runs", "compare", ids[0][:8], ids[1][:8]}, want: []string{
			"params that differ (1 equal):", "train.lr", "val/loss", "2 (+1)", "0.9 (+0.1)", "0.6 (=)", "(1 more metrics",
		}, wantNot: []string{"batch_size", "Edema"}},
		{name: "compare filter", args: []string{"runs", "compare", "--filter", "Edema", ids[0][:8], ids[1][:8]}, want: []string{":Edema", "0.65 (=)"}, wantNot: []string{"val/loss"}},
		{name: "compare one", args: []string{"runs", "compare", ids[0][:8]}, code: 2, wantErr: []string{"need at least 2 run id(s)"}},
		{name: "rm unknown", args: []string{"runs", "rm", ids[0][:8], "ffffffff"}, code: 1, wantErr: []string{`find run "ffffffff": no such run under runs`}, kept: dir0},
		{name: "rm running", args: []string{"runs", "rm", ids[2][:8]}, code: 1, wantErr: []string{"run is running", "--force"}, kept: filepath.Join("runs", "probe", ids[2])},
		{name: "rm", args: []string{"runs", "rm", ids[0][:8], ids[0]}, want: []string{"removed run " + ids[0][:8] + " (lr0.1, experiment probe, finished) " + dir0 + ": "}, gone: dir0},
		{name: "rm running forced", args: []string{"runs", "rm", "--force", ids[2][:8]}, want: []string{"removed run " + ids[2][:8]}, gone: filepath.Join("runs", "probe", ids[2])},
		{name: "list after rm", args: []string{"runs", "list"}, want: []string{ids[1][:8]}, wantNot: []string{ids[0][:8], ids[2][:8]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("convirt %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.args, code, c.code, out, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range c.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if _, err := os.Stat(c.gone); c.gone != "" && !os.IsNotExist(err) {
				t.Errorf("%s still there: %v", c.gone, err)
			}
			if _, err := os.Stat(c.kept); c.kept != "" && err != nil {
				t.Errorf("%s removed: %v", c.kept, err)
			}
		})
	}
}

// TestRunsListExamples runs the examples `runs list --help` shows on a
// store like the demo's.
func TestRunsListExamples(t *testing.T) {
	t.Chdir(t.TempDir())
	r, err := runs.Create("runs", "demo", runs.Options{Name: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	r.LogParams(map[string]string{"train.batch_size": "64", "loss.config.tau": "0.1"})
	r.LogMetric(runs.ValLossKey, 2, 1)
	r.LogMetric("eval/chexpert-linear/linear/convirt/f0.01/auc", 0.9, 0)
	r.LogMetric("eval/chexpert-linear/linear/random/f0.01/auc", 0.7, 0)
	if err := r.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	for _, ex := range strings.Split(commands["runs list"].Example, "\n") {
		args := strings.Fields(strings.ReplaceAll(ex, "'", "")) // as a shell passes them
		if code, out, errs := runCLI(t, args...); code != 0 || !strings.Contains(out, r.ID()[:8]) {
			t.Errorf("convirt %s: exit %d\n%s%s", ex, code, out, errs)
		}
	}
}

// TestRunsSweep lists a sweep's children by a prefix of the parent's id,
// and removing the parent says that they remain.
func TestRunsSweep(t *testing.T) {
	t.Chdir(t.TempDir())
	mk := func(name, parent string) string {
		r, err := runs.Create("runs", "sweep", runs.Options{Name: name, ParentID: parent})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(runs.Finished); err != nil {
			t.Fatal(err)
		}
		return r.ID()
	}
	parent := mk("parent", "")
	child := mk("child", parent)
	if code, _, errs := runCLI(t, "runs", "list", "--parent", "ffffffff"); code != 1 || !strings.Contains(errs, `--parent: find run "ffffffff": no such run`) {
		t.Errorf("--parent of no run: exit %d: %s", code, errs)
	}
	for _, c := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"runs", "list", "--parent", parent[:8]}, child[:8], parent[:8]},
		{[]string{"runs", "show", parent[:8]}, "children     1 (convirt runs list --parent " + parent[:8] + ")", ""},
		{[]string{"runs", "rm", parent[:8]}, "its child runs remain (1): convirt runs list --parent " + parent, ""},
		{[]string{"runs", "list", "--parent", parent}, child[:8], ""}, // as rm says, with the parent gone
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || (c.not != "" && strings.Contains(out, c.not)) {
			t.Errorf("convirt %v: exit %d, want %q without %q:\n%s%s", c.args, code, c.want, c.not, out, errs)
		}
	}
}

// TestRunsReportAndPush rebuilds a run's report and refuses a push with no
// MLflow server named.
func TestRunsReportAndPush(t *testing.T) {
	t.Chdir(t.TempDir())
	r, err := runs.Create("runs", "probe", runs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for s := range 5 {
		r.LogMetric(runs.TrainLossKey, float64(5-s), int64(s))
	}
	if err := r.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "runs", "report", r.ID()[:8]); code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for _, f := range []string{"report.html", filepath.Join("plots", "loss.png")} {
		if _, err := os.Stat(filepath.Join("runs", "probe", r.ID(), f)); err != nil {
			t.Error(err)
		}
	}
	t.Setenv("MLFLOW_TRACKING_URI", "")
	if code, _, _ := runCLI(t, "runs", "push", r.ID()); code != 2 {
		t.Errorf("push without MLFLOW_TRACKING_URI: exit %d", code)
	}
}

// TestRunsReportShowsThePaperWhenTheRecipeSays: `runs report` rebuilds a
// report with the options of the run's own saved recipe, so a paper
// recipe's run (report.paper) shows the paper's figures when rebuilt as
// when it ran, and another run does not.
func TestRunsReportShowsThePaperWhenTheRecipeSays(t *testing.T) {
	t.Chdir(t.TempDir())
	const intro = "the numbers the ConVIRT paper reports"
	for _, paper := range []bool{true, false} {
		r, err := runs.Create("runs", "table1", runs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		es, err := results.Cell(results.Entry{Task: "chexpert", Protocol: "linear", Init: "convirt", Fraction: 0.01},
			[]results.Score{{Metric: "auc", Seeds: []uint64{0, 1}, Values: []float64{0.85, 0.87}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := results.Write(r.Path(runs.ResultsFile), &results.File{Entries: es}); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(t.TempDir(), "table1.yaml")
		y := fmt.Sprintf("name: table1\nimage_encoder: {plugin: smallcnn}\nreport: {paper: %v}\n", paper)
		if err := os.WriteFile(src, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		rec, err := recipe.Load(src, recipe.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Save(r.Dir()); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(runs.Finished); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := runCLI(t, "runs", "report", r.ID()); code != 0 {
			t.Fatalf("report: exit %d: %s", code, errs)
		}
		page, err := os.ReadFile(filepath.Join(r.Dir(), "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(page), intro); got != paper {
			t.Errorf("report.paper %v: the rebuilt report shows the paper's figures: %v", paper, got)
		}
	}
}
