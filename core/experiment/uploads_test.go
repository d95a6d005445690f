package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/core/runs"
)

// runs.Uploads, the one list of files a live run and `runs push` send,
// names the files the experiment, the recipe and the report write.
func TestUploadsNameTheFilesWritten(t *testing.T) {
	for _, c := range [][2]string{{ResultsFile, runs.ResultsFile}, {TablesFile, runs.TablesFile}, {recipe.ResolvedFile, runs.ResolvedFile}} {
		if c[0] != c[1] {
			t.Errorf("written as %q, uploaded as %q", c[0], c[1])
		}
	}
	dir := t.TempDir()
	if err := report.WriteHTML(dir, report.Page{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, runs.ReportFile)); err != nil {
		t.Errorf("report.WriteHTML does not write runs.ReportFile: %v", err)
	}
}
