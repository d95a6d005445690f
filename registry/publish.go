package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/core/host"
)

// ReadIndexFile reads the index file at path; a missing file is an empty
// index.
func ReadIndexFile(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Index{Format: IndexFormat}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return ParseIndex(b, path)
}

// WriteIndexFile validates ix and writes it to path atomically.
func WriteIndexFile(path string, ix *Index) error {
	if err := ix.Validate(); err != nil {
		return fmt.Errorf("registry: index %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := writeJSON(path, ix); err != nil {
		return fmt.Errorf("registry: index %s: %w", path, err)
	}
	return nil
}

// Publish adds the installed plugins names (every installed plugin when
// names is empty) to the index file at indexPath, creating it if needed,
// for this platform. Each binary is copied next to the index, to
// <name>/<version>/<goos>-<goarch>/<name>, and listed by that relative URL
// with its sha256, so the index's directory can be shared as it is: on a
// common disk or behind any web server. Entries of the same name@version
// merge their platforms, so builds for several platforms can be published
// into one index, each from its own machine; a binary that changed since it
// was installed, or a published version whose binary differs, is refused.
func (r *Registry) Publish(indexPath string, names []string) ([]IndexEntry, error) {
	ix, err := ReadIndexFile(indexPath)
	if err != nil {
		return nil, err
	}
	var ms []Manifest
	if len(names) == 0 {
		if ms, err = r.List(); err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("registry: no installed plugins in %s to publish", r.Dir)
		}
	}
	for _, n := range names {
		m, err := r.Get(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	root := filepath.Dir(indexPath)
	plat := Platform()
	var added []IndexEntry
	for _, m := range ms {
		if !versionRE.MatchString(m.Version) {
			return nil, fmt.Errorf("registry: publish %s: version %q cannot be published: want letters, digits, '.', '_', '+' and '-'", m.Name, m.Version)
		}
		if got, err := host.FileSHA256(m.Binary); err != nil || got != m.SHA256 {
			return nil, fmt.Errorf("registry: publish %s: %w: %s hashes to %s but %s was recorded at install (%v); reinstall it first", m.Name, ErrMismatch, m.Binary, got, m.SHA256, err)
		}
		rel := path.Join(m.Name, m.Version, strings.ReplaceAll(plat, "/", "-"), m.Name)
		e := IndexEntry{Name: m.Name, Version: m.Version, Kind: m.Kind, ProtocolVersion: m.ProtocolVersion, Description: m.Description,
			Platforms: map[string]Artifact{plat: {URL: rel, SHA256: m.SHA256}}}
		if err := ix.put(e); err != nil {
			return nil, fmt.Errorf("registry: publish into %s: %w", indexPath, err)
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		if got, err := host.FileSHA256(dst); err != nil || got != m.SHA256 {
			if err := copyExecutable(m.Binary, dst); err != nil {
				return nil, fmt.Errorf("registry: publish %s: %w", m.Name, err)
			}
		}
		added = append(added, e)
	}
	return added, WriteIndexFile(indexPath, ix)
}
