package registry

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/convirt/convirt/plugins/sdk"
)

// InstallURL downloads the plugin binary at rawURL (http, https or file)
// and installs it if it hashes to sha256, which is required: a binary
// fetched from elsewhere is only trusted by its checksum.
func (r *Registry) InstallURL(ctx context.Context, rawURL, sha256 string, log io.Writer) (Manifest, error) {
	want := strings.ToLower(sha256)
	if !sha256RE.MatchString(want) {
		return Manifest{}, fmt.Errorf("registry: install %s: sha256 %q is not 64 hex digits; a download is only installed against a known checksum", rawURL, sha256)
	}
	u, err := location(rawURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", rawURL, err)
	}
	return r.fetchInstall(ctx, u, want, "given with the URL", InstallOptions{Log: log})
}

// InstallFromIndex installs name@version from ix (the newest version that
// speaks this convirt's protocol when version is empty): it downloads the
// binary for this platform, checks it against the index's sha256 before
// installing it, and checks that the plugin reports the name, version and
// kind the index lists.
func (r *Registry) InstallFromIndex(ctx context.Context, ix *Index, name, version string, log io.Writer) (Manifest, error) {
	e, err := ix.Lookup(name, version)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", ix.label(), err)
	}
	if e.ProtocolVersion != sdk.ProtocolVersion {
		return Manifest{}, fmt.Errorf("registry: install %s: it speaks plugin protocol %d, this convirt speaks %d", e.Ref(), e.ProtocolVersion, sdk.ProtocolVersion)
	}
	a, err := e.Artifact(Platform())
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install: %w", err)
	}
	u, err := ix.resolve(a.URL)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: url: %w", e.Ref(), err)
	}
	opt := InstallOptions{Index: ix.label(), Log: log, Expect: func(info sdk.Info) error {
		if info.Name != e.Name || info.Version != e.Version || info.Kind != e.Kind {
			return fmt.Errorf("the index lists %s (%s) but the binary is %s@%s (%s); refusing to install it", e.Ref(), e.Kind, info.Name, info.Version, info.Kind)
		}
		return nil
	}}
	return r.fetchInstall(ctx, u, a.SHA256, "listed for "+e.Ref()+" by the index "+ix.label(), opt)
}

// fetchInstall downloads u into a private directory inside the registry,
// refuses it unless it hashes to want (which whence names), then installs it
// with opt.
func (r *Registry) fetchInstall(ctx context.Context, u *url.URL, want, whence string, opt InstallOptions) (Manifest, error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("registry: %w", err)
	}
	// Inside the registry rather than in $TMPDIR, which may be mounted
	// noexec; the leading dot keeps List from seeing it.
	tmp, err := os.MkdirTemp(r.Dir, ".download-")
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: %w", err)
	}
	defer os.RemoveAll(tmp)
	base := path.Base(u.Path)
	if base == "/" || base == "." || !nameRE.MatchString(base) {
		base = "plugin"
	}
	file := filepath.Join(tmp, base)
	got, err := r.download(ctx, u, file)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry: install %s: %w", u.Redacted(), err)
	}
	if got != want {
		return Manifest{}, fmt.Errorf("registry: install %s: %w: the download's sha256 is %s but %s was expected (%s); refusing to install it",
			u.Redacted(), ErrMismatch, got, want, whence)
	}
	opt.Source, opt.SHA256 = u.Redacted(), want
	return r.InstallFile(ctx, file, opt)
}

// label names the index in messages and manifests.
func (ix *Index) label() string {
	if ix.base == nil {
		return "(in memory)"
	}
	if ix.base.Scheme == "file" {
		return filepath.FromSlash(ix.base.Path)
	}
	return ix.base.Redacted()
}
