// Package registry finds, describes, installs and verifies plugin binaries.
// Every installed plugin lives in its own directory under the plugin
// directory ($CONVIRT_PLUGIN_DIR, default ~/.convirt/plugins):
//
//	<dir>/<name>/manifest.json   the Manifest
//	<dir>/<name>/<name>          the executable
//
// The manifest records the binary's sha256 at install; the host refuses to
// start a binary that no longer matches it. Plugins install from a local
// file, from a URL with a known sha256, or by name and version from an
// Index that another group published (Publish), checked against the
// index's sha256 before anything is installed. Built-in plugins (compiled into
// convirt, see plugins/sdk/builtin) need no install and have no manifest file;
// the registry knows them only as the value cmd/convirt hands it
// (Registry.Builtins).
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// EnvDir overrides the plugin directory.
const EnvDir = "CONVIRT_PLUGIN_DIR"

// manifestFile is the manifest's file name inside a plugin's directory.
const manifestFile = "manifest.json"

// Manifest describes one plugin.
type Manifest struct {
	Name            string        `json:"name"`
	Kind            sdk.Kind      `json:"kind"`
	Version         string        `json:"version"`
	ProtocolVersion int           `json:"protocol_version"`
	SHA256          string        `json:"sha256,omitempty"` // of the installed binary; empty for built-ins
	Binary          string        `json:"binary,omitempty"` // absolute path of the installed binary
	Description     string        `json:"description,omitempty"`
	Schema          schema.Schema `json:"schema"`
	Source          string        `json:"source,omitempty"` // where it was installed from: a path or a URL
	Index           string        `json:"index,omitempty"`  // the index it was chosen from, if any
	InstalledAt     time.Time     `json:"installed_at,omitzero"`
	BuiltIn         bool          `json:"builtin,omitempty"`
}

// fromInfo makes a manifest from a plugin's Info.
func fromInfo(info sdk.Info) Manifest {
	return Manifest{Name: info.Name, Kind: info.Kind, Version: info.Version, ProtocolVersion: info.ProtocolVersion,
		Description: info.Description, Schema: info.Schema}
}

// Registry is a plugin directory, and the built-in plugins beside it.
type Registry struct {
	Dir string
	// HTTP fetches indexes and binaries over http(s); nil means
	// DefaultHTTPClient.
	HTTP *http.Client
	// Builtins are the plugins compiled into the executable; the zero
	// value has none.
	Builtins Builtins
}

// Builtins are the plugins compiled into an executable and how that
// executable serves one. The registry does not look them up itself:
// cmd/convirt hands them in, so that which plugins are built in, and the
// command line that serves one (`convirt plugin serve NAME`), stay the
// CLI's business.
type Builtins struct {
	// Entries are the built-in plugins (plugins/sdk/builtin's catalogue).
	Entries []builtin.Entry
	// Args returns the arguments, after the executable, that make it serve
	// the built-in name.
	Args func(name string) []string
}

// lookup returns the built-in called name.
func (b Builtins) lookup(name string) (builtin.Entry, bool) {
	for _, e := range b.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return builtin.Entry{}, false
}

// DefaultDir is $CONVIRT_PLUGIN_DIR, or ~/.convirt/plugins.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("registry: no plugin directory: set %s (%w)", EnvDir, err)
	}
	return filepath.Join(home, ".convirt", "plugins"), nil
}

// Open returns the registry in dir, or in DefaultDir when dir is empty, as
// an absolute path, so manifests record absolute binary paths. The
// directory is created on the first install.
func Open(dir string) (*Registry, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: plugin directory %s: %w", dir, err)
	}
	return &Registry{Dir: abs}, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Get returns the manifest of the installed plugin name; a name that is
// not installed gets an *UnknownPluginError listing the known plugins.
func (r *Registry) Get(name string) (Manifest, error) {
	if !nameRE.MatchString(name) {
		return Manifest{}, r.Unknown(name, "")
	}
	p := filepath.Join(r.Dir, name, manifestFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, r.Unknown(name, "")
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("registry: %s: %w", p, err)
	}
	if m.Name != name {
		return Manifest{}, fmt.Errorf("registry: %s names plugin %q, expected %q", p, m.Name, name)
	}
	return m, nil
}

// List returns the manifests of every installed plugin, sorted by name.
func (r *Registry) List() ([]Manifest, error) {
	ents, err := os.ReadDir(r.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var out []Manifest
	for _, e := range ents {
		if !e.IsDir() || !nameRE.MatchString(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.Dir, e.Name(), manifestFile)); err != nil {
			continue
		}
		m, err := r.Get(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BuiltinManifests describes the built-in plugins, in the order of
// r.Builtins.Entries, asking each a fresh in-process instance for its Info.
func (r *Registry) BuiltinManifests(ctx context.Context) ([]Manifest, error) {
	var out []Manifest
	for _, e := range r.Builtins.Entries {
		p := e.New()
		info, err := p.Info(ctx)
		_ = p.Close()
		if err != nil {
			return nil, fmt.Errorf("registry: built-in %q: Info: %w", e.Name, err)
		}
		m := fromInfo(info)
		m.Name, m.Kind, m.ProtocolVersion, m.BuiltIn = e.Name, e.Kind, sdk.ProtocolVersion, true
		out = append(out, m)
	}
	return out, nil
}

// Describe returns the manifest of name: a built-in, else an installed one.
func (r *Registry) Describe(ctx context.Context, name string) (Manifest, error) {
	if _, ok := r.Builtins.lookup(name); ok {
		all, err := r.BuiltinManifests(ctx)
		if err != nil {
			return Manifest{}, err
		}
		for _, m := range all {
			if m.Name == name {
				return m, nil
			}
		}
	}
	return r.Get(name)
}

// Spec returns how to start the plugin name: the built-in of that name if
// there is one (served with the arguments Builtins.Args gives), else the
// installed binary with its recorded checksum (which host.Start verifies).
func (r *Registry) Spec(name string) (host.Spec, error) {
	if e, ok := r.Builtins.lookup(name); ok {
		if r.Builtins.Args == nil {
			return host.Spec{}, fmt.Errorf("registry: built-in plugin %q: no command line serves built-ins (Builtins.Args is nil)", name)
		}
		return host.Spec{Name: name, Kind: e.Kind, BuiltIn: true, Args: r.Builtins.Args(name)}, nil
	}
	m, err := r.Get(name)
	if err != nil {
		return host.Spec{}, err
	}
	return host.Spec{Name: m.Name, Kind: m.Kind, Path: m.Binary, SHA256: m.SHA256}, nil
}
