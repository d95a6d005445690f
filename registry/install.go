package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// Install copies the plugin executable at path into the registry and records
// its manifest. It starts the plugin once to ask for its Info (name, kind,
// versions, schema), so only a working plugin installs; log receives that
// run's plugin logs (nil discards them). Installing a name again replaces it.
func (r *Registry) Install(ctx context.Context, path string, log io.Writer) (Manifest, error) {
	return r.InstallFile(ctx, path, InstallOptions{Log: log})
}

// InstallOptions refine InstallFile.
type InstallOptions struct {
	// SHA256, when set, is the checksum the file must have; a file that
	// differs is refused (wrapping ErrMismatch) before it is started.
	SHA256 string
	// Source is recorded as where the plugin came from; default the path.
	Source string
	// Index is recorded as the index the plugin was chosen from.
	Index string
	// Expect, when set, checks the plugin's Info before anything is
	// installed.
	Expect func(sdk.Info) error
	// Log receives the plugin's logs while it is probed; nil discards them.
	Log io.Writer
}

// InstallFile is Install with options.
func (r *Registry) InstallFile(ctx context.Context, path string, opt InstallOptions) (Manifest, error) {
	src, err := filepath.Abs(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", path, err)
	}
	if opt.Source == "" {
		opt.Source = src
	}
	sum, err := host.FileSHA256(src)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install: %w", err)
	}
	if want := strings.ToLower(opt.SHA256); want != "" && sum != want {
		return Manifest{}, fmt.Errorf("registry: install %s: %w: its sha256 is %s but %s was expected; refusing to install it", opt.Source, ErrMismatch, sum, want)
	}
	c, err := host.Start(ctx, host.Spec{Path: src, SHA256: sum, Log: opt.Log})
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", opt.Source, err)
	}
	info := c.Process().Info()
	if err := c.Close(); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", opt.Source, err)
	}
	if !nameRE.MatchString(info.Name) {
		return Manifest{}, fmt.Errorf("registry: install %s: the plugin calls itself %q; names are lower-case letters, digits, '.', '_' and '-'", opt.Source, info.Name)
	}
	if _, ok := r.Builtins.lookup(info.Name); ok {
		return Manifest{}, fmt.Errorf("registry: install %s: %q is the name of a built-in plugin", opt.Source, info.Name)
	}
	if opt.Expect != nil {
		if err := opt.Expect(info); err != nil {
			return Manifest{}, fmt.Errorf("registry: install %s: %w", opt.Source, err)
		}
	}
	dir := filepath.Join(r.Dir, info.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("registry: %w", err)
	}
	bin := filepath.Join(dir, info.Name)
	if err := copyExecutable(src, bin); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", opt.Source, err)
	}
	if got, err := host.FileSHA256(bin); err != nil || got != sum {
		return Manifest{}, fmt.Errorf("registry: install %s: the copy %s hashes to %s, the source to %s (%v)", opt.Source, bin, got, sum, err)
	}
	m := fromInfo(info)
	m.SHA256, m.Binary, m.Source, m.Index, m.InstalledAt = sum, bin, opt.Source, opt.Index, time.Now().UTC().Truncate(time.Second)
	if err := writeJSON(filepath.Join(dir, manifestFile), m); err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", opt.Source, err)
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
