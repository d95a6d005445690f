package runs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Filter selects runs in List; zero fields match everything.
type Filter struct {
	Experiment string
	ParentID   string
	Status     Status
}

func (f Filter) match(m Meta) bool {
	return (f.Experiment == "" || m.Experiment == f.Experiment) &&
		(f.ParentID == "" || m.ParentID == f.ParentID) &&
		(f.Status == "" || m.Status == f.Status)
}

// List returns the metadata of the runs under root matching f, newest
// first. Directories without a readable meta.json (never the case for runs
// made by Create) and hidden directories are skipped. A missing root is an
// empty list.
func List(root string, f Filter) ([]Meta, error) {
	exps, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []Meta
	for _, e := range exps {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || (f.Experiment != "" && e.Name() != f.Experiment) {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		for _, r := range ents {
			if !r.IsDir() || strings.HasPrefix(r.Name(), ".") {
				continue
			}
			m, err := ReadMeta(filepath.Join(root, e.Name(), r.Name()))
			if err != nil {
				continue
			}
			if f.match(m) {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime.After(out[j].StartTime) })
	return out, nil
}

// Children returns the child runs of the run parentID (sweep members).
func Children(root, parentID string) ([]Meta, error) {
	if parentID == "" {
		return nil, errors.New("children: empty parent id")
	}
	return List(root, Filter{ParentID: parentID})
}

// Find returns the run under root whose id is id or starts with it (at
// least 4 characters), or whose directory is id.
func Find(root, id string) (Meta, error) {
	if m, err := ReadMeta(id); err == nil {
		return m, nil
	}
	if len(id) < 4 {
		return Meta{}, fmt.Errorf("find run %q: give at least 4 characters of the id", id)
	}
	all, err := List(root, Filter{})
	if err != nil {
		return Meta{}, err
	}
	var hits []Meta
	for _, m := range all {
		if m.ID == id {
			return m, nil
		}
		if strings.HasPrefix(m.ID, id) {
			hits = append(hits, m)
		}
	}
	switch len(hits) {
	case 0:
		return Meta{}, fmt.Errorf("find run %q: no such run under %s", id, root)
	case 1:
		return hits[0], nil
	}
	return Meta{}, fmt.Errorf("find run %q: ambiguous, matches %d runs", id, len(hits))
}
