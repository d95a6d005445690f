package runs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files of a finished run written by the packages above this one; Uploads
// sends them to remote trackers.
const (
	ReportFile   = "report.html"   // core/report.WriteHTML
	ResultsFile  = "results.json"  // core/experiment: the evaluation results
	TablesFile   = "tables.md"     // core/experiment: the paper-style tables
	ResolvedFile = "resolved.yaml" // core/recipe: the resolved recipe
)

// topFiles are the files of the run directory itself that are uploaded, in
// this order.
var topFiles = []string{ReportFile, ResultsFile, TablesFile, ResolvedFile}

// Upload is one file of a run for a remote tracker: Name is its artifact
// path (slash-separated), Path the file in the run directory.
type Upload struct {
	Name, Path string
}

// Uploads lists what a remote tracker (MLflow) receives of the run in dir
// as artifacts: ReportFile, ResultsFile, TablesFile and ResolvedFile when
// present, every file under PlotsDir (as "plots/<name>"), and every file
// under ArtifactsDir under the name LogArtifact gave it. A live run (core/
// experiment) and `convirt runs push` (core/mlflow) both send exactly this
// list, so the two cannot drift apart.
//
// Only regular files are listed: a symlink, device or FIFO in the run
// directory is skipped, never followed, and so are hidden files (the
// temporaries plugins/sdk/atomicfile leaves when a write is cut short).
func Uploads(dir string) ([]Upload, error) {
	var out []Upload
	for _, name := range topFiles {
		st, err := os.Lstat(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", dir, err)
		}
		if st.Mode().IsRegular() {
			out = append(out, Upload{Name: name, Path: filepath.Join(dir, name)})
		}
	}
	for _, sub := range []string{PlotsDir, ArtifactsDir} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root && os.IsNotExist(err) {
					return fs.SkipDir
				}
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != root {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			if sub != ArtifactsDir {
				rel = filepath.Join(sub, rel)
			}
			out = append(out, Upload{Name: filepath.ToSlash(rel), Path: p})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", dir, err)
		}
	}
	return out, nil
}
