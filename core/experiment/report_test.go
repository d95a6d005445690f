package experiment

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
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

// TestIsPaperRecipe: the paper's figures go beside the results of the
// recipes under recipes/paper only, however the path is spelt.
func TestIsPaperRecipe(t *testing.T) {
	for src, want := range map[string]bool{
		"recipes/paper/table1.yaml": true, "./recipes/paper/retrieval.yaml": true,
		"/home/u/convirt/recipes/paper/table1.yaml": true, "recipes/demo.yaml": false,
		"recipes/paperish/x.yaml": false, "paper/table1.yaml": false, "": false,
	} {
		if got := isPaperRecipe(src); got != want {
			t.Errorf("isPaperRecipe(%q) = %v, want %v", src, got, want)
		}
	}
}
