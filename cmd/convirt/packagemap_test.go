package main

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mapCovers reports whether the package map's first-column entries cover
// the module package rel. An entry is a backticked path; later entries on
// the same row without a slash name siblings of the first ("`a/b`, `c`" is
// a/b and a/c), and a path ending in "/..." covers its subtree.
func mapCovers(rows [][]string, rel string) bool {
	for _, entries := range rows {
		dir := ""
		for i, e := range entries {
			p := e
			if i == 0 || strings.HasPrefix(e, "cmd/") || strings.HasPrefix(e, "core/") || strings.HasPrefix(e, "plugins/") || e == "registry" {
				dir = path.Dir(strings.TrimSuffix(e, "/..."))
			} else {
				p = path.Join(dir, e)
			}
			if p == rel {
				return true
			}
			if sub, ok := strings.CutSuffix(p, "/..."); ok && (rel == sub || strings.HasPrefix(rel, sub+"/")) {
				return true
			}
		}
	}
	return false
}

// packageMapRows returns the backticked entries of the first column of each
// row of docs/architecture.md's package map table.
func packageMapRows(doc string) [][]string {
	tick := regexp.MustCompile("`([^`]+)`")
	var rows [][]string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		var entries []string
		for _, m := range tick.FindAllStringSubmatch(first, -1) {
			entries = append(entries, m[1])
		}
		rows = append(rows, entries)
	}
	return rows
}

// TestPackageMapNamesEveryPackage: docs/architecture.md's package map (the
// newcomer's guide to the module) has a row for every package `go list`
// finds, so a new package cannot appear without its role written down.
func TestPackageMapNamesEveryPackage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := packageMapRows(string(b))
	if len(rows) < 20 {
		t.Fatalf("found %d package map rows in docs/architecture.md", len(rows))
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (go test puts it there): %v", err)
	}
	cmd := exec.Command(goTool, "list", "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(imp, modulePath+"/")
		if !ok {
			continue
		}
		if !mapCovers(rows, rel) {
			t.Errorf("%s has no row in docs/architecture.md's package map: add one (its role, what it may import)", rel)
		}
	}
}

// TestMapCovers: the shorthand of the map's rows.
func TestMapCovers(t *testing.T) {
	rows := [][]string{{"plugins/losses/convirt", "clip", "infonce"}, {"plugins/models/..."}, {"core/mlflow", "core/mlflow/mlflowtest"}, {"registry"}}
	for rel, want := range map[string]bool{
		"plugins/losses/convirt": true, "plugins/losses/clip": true, "plugins/losses/infonce": true,
		"plugins/losses/other": false, "plugins/models/bert": true, "plugins/models": true,
		"core/mlflow/mlflowtest": true, "core/mlflow/internal/wire": false, "registry": true, "clip": false,
	} {
		if got := mapCovers(rows, rel); got != want {
			t.Errorf("mapCovers(%q) = %v, want %v", rel, got, want)
		}
	}
}
