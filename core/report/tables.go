package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/core/runs"
)

// ReadTables reads a run's tables.md (the paper-style tables core/experiment
// writes: "### title", a pipe table, an optional note paragraph, for each)
// as Tables; a run without the file has none.
func ReadTables(runDir string) ([]Table, error) {
	path := filepath.Join(runDir, runs.TablesFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Table
	for i, chunk := range strings.Split("\n"+string(b), "\n### ")[1:] {
		title, rest, _ := strings.Cut(chunk, "\n")
		var table, note []string
		for _, line := range strings.Split(rest, "\n") {
			switch t := strings.TrimSpace(line); {
			case strings.HasPrefix(t, "|") && len(note) == 0:
				table = append(table, t)
			case t != "":
				note = append(note, t)
			}
		}
		tb, err := ParseMarkdownTable(title, strings.Join(table, "\n"))
		if err != nil {
			return nil, fmt.Errorf("%s: table %d: %w", path, i+1, err)
		}
		tb.Note = strings.Join(note, " ")
		out = append(out, tb)
	}
	if len(out) == 0 && strings.TrimSpace(string(b)) != "" {
		return nil, fmt.Errorf("%s: no \"### title\" table", path)
	}
	return out, nil
}
