package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/convirt/convirt/core/atomicfile"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk/builtin"
)

// Install copies the plugin executable at path into the registry and records
// its manifest. It starts the plugin once to ask for its Info (name, kind,
// versions, schema), so only a working plugin installs; log receives that
// run's plugin logs (nil discards them). Installing a name again replaces it.
func (r *Registry) Install(ctx context.Context, path string, log io.Writer) (Manifest, error) {
	src, err := filepath.Abs(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", path, err)
	}
	sum, err := host.FileSHA256(src)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install: %w", err)
	}
	c, err := host.Start(ctx, host.Spec{Path: src, SHA256: sum, Log: log})
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", src, err)
	}
	info := c.Process().Info()
	if err := c.Close(); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", src, err)
	}
	if !nameRE.MatchString(info.Name) {
		return Manifest{}, fmt.Errorf("registry: install %s: the plugin calls itself %q; names are lower-case letters, digits, '.', '_' and '-'", src, info.Name)
	}
	if _, ok := builtin.Lookup(info.Name); ok {
		return Manifest{}, fmt.Errorf("registry: install %s: %q is the name of a built-in plugin", src, info.Name)
	}
	dir := filepath.Join(r.Dir, info.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("registry: %w", err)
	}
	bin := filepath.Join(dir, info.Name)
	if err := copyExecutable(src, bin); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", src, err)
	}
	if got, err := host.FileSHA256(bin); err != nil || got != sum {
		return Manifest{}, fmt.Errorf("registry: install %s: the copy %s hashes to %s, the source to %s (%v)", src, bin, got, sum, err)
	}
	m := fromInfo(info)
	m.SHA256, m.Binary, m.Source, m.InstalledAt = sum, bin, src, time.Now().UTC().Truncate(time.Second)
	if err := writeJSON(filepath.Join(dir, manifestFile), m); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", src, err)
	}
	return m, nil
}

// Check is the result of verifying one installed plugin.
type Check struct {
	Manifest Manifest
	Actual   string // the binary's sha256 now; empty when unreadable
	Err      error  // why it failed; nil when the checksum matches
}

// ErrMismatch is wrapped by a Check's Err when the binary changed.
var ErrMismatch = errors.New("checksum mismatch")

// Verify recomputes the checksum of every installed plugin.
func (r *Registry) Verify() ([]Check, error) {
	ms, err := r.List()
	if err != nil {
		return nil, err
	}
	out := make([]Check, 0, len(ms))
	for _, m := range ms {
		c := Check{Manifest: m}
		c.Actual, c.Err = host.FileSHA256(m.Binary)
		if c.Err == nil && c.Actual != m.SHA256 {
			c.Err = fmt.Errorf("%w: %s has sha256 %s, manifest records %s", ErrMismatch, m.Binary, c.Actual, m.SHA256)
		}
		out = append(out, c)
	}
	return out, nil
}

// copyExecutable copies src to dst atomically.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.WriteFunc(dst, 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// writeJSON writes v as indented JSON to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}
