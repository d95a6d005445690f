package experiment

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
)

// TestReportOfFinishedRunSaysFinished is issue 22's case: report.html is
// written as the run's last stage, before the run is closed, and showed
// "status: running" for a run that then finished.
func TestReportOfFinishedRunSaysFinished(t *testing.T) {
	dir := t.TempDir()
	run, err := runs.Create(dir, "e", runs.Options{Name: "status"})
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s := &session{r: &recipe.Recipe{Source: "recipes/demo.yaml"}, opt: Options{Out: io.Discard}, run: run, tracker: runs.Multi{run}, log: log}
	if _, _, err := s.report(&Outcome{}); err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(runs.Finished); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(run.Path(runs.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	status := regexp.MustCompile(`<th>status</th><td>([^<]*)</td>`).FindStringSubmatch(string(b))
	if status == nil || status[1] != string(runs.Finished) {
		t.Errorf("report.html status %v, want %q", status, runs.Finished)
	}
}

// TestReportOptions: the paper's figures go beside the results of the
// recipes in recipes/paper, which say so (report.paper), and of no other
// shipped recipe; the inits are the evaluations' in first-use order. The
// options come from the recipe, so a rebuilt or repeated run's report
// shows the same.
func TestReportOptions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "recipes", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("..", "..", "recipes", "*.yaml"))
	paper := 0
	for _, f := range append(files, more...) {
		if filepath.Base(filepath.Dir(f)) == "base" {
			continue // fragments that other recipes extend
		}
		r, err := recipe.Load(f, recipe.Options{Getenv: func(k string) (string, bool) { return "/data", strings.HasPrefix(k, "CONVIRT_DATA") }})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := filepath.Base(filepath.Dir(f)) == "paper"
		if got := ReportOptions(r).Paper; got != want {
			t.Errorf("%s: report.paper %v, want %v", f, got, want)
		}
		if want {
			paper++
		}
	}
	if paper < 2 {
		t.Fatalf("%d paper recipes found: the test reads the wrong folder", paper)
	}
	r := &recipe.Recipe{Evaluate: []recipe.Eval{{Inits: []string{"convirt", "random"}}, {Inits: []string{"imagenet", "convirt"}}}}
	if got := ReportOptions(r).Inits; !slices.Equal(got, []string{"convirt", "random", "imagenet"}) {
		t.Errorf("inits %v", got)
	}
}
