package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk"
)

// IndexFormat is the index_version this convirt reads and writes.
const IndexFormat = 1

// EnvIndex names the default index of `convirt plugins install NAME@VERSION`.
const EnvIndex = "CONVIRT_PLUGIN_INDEX"

// Index lists shareable plugins: every published version of each, with the
// location and sha256 of its binary, per platform or for all. A group
// publishes one (see Publish) as a file next to the binaries, on a shared
// disk or a web server; another installs from it by name and version
// (InstallFromIndex), the binary checked against the listed sha256 before
// it is installed. docs/plugins.md shows the format.
type Index struct {
	Format  int          `json:"index_version"`
	Plugins []IndexEntry `json:"plugins"`

	base *url.URL // where the index was read from; relative URLs resolve against it
}

// IndexEntry is one published version of one plugin.
type IndexEntry struct {
	Name            string   `json:"name"`
	Version         string   `json:"version"`
	Kind            sdk.Kind `json:"kind"`
	ProtocolVersion int      `json:"protocol_version"`
	Description     string   `json:"description,omitempty"`
	// URL and SHA256 locate a binary that runs on every platform (e.g. a
	// script); Platforms, keyed "GOOS/GOARCH", those built for one, and win
	// over URL. URLs are absolute (http, https, file) or relative to the index.
	URL       string              `json:"url,omitempty"`
	SHA256    string              `json:"sha256,omitempty"`
	Platforms map[string]Artifact `json:"platforms,omitempty"`
}

// Artifact is one downloadable plugin binary.
type Artifact struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Ref returns "name@version".
func (e IndexEntry) Ref() string { return e.Name + "@" + e.Version }

// Platform is this convirt's "GOOS/GOARCH", the key of IndexEntry.Platforms.
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }

var (
	versionRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
	sha256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+$`)
)

// ParseIndex decodes and validates an index; what names where it came from
// in errors.
func ParseIndex(b []byte, what string) (*Index, error) {
	var ix Index
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("registry: index %s: %w", what, err)
	}
	if err := ix.Validate(); err != nil {
		return nil, fmt.Errorf("registry: index %s: %w", what, err)
	}
	return &ix, nil
}

// Validate checks the format version, every entry's name, version, kind and
// artifacts, and that no name@version appears twice.
func (ix *Index) Validate() error {
	if ix.Format != IndexFormat {
		return fmt.Errorf("index_version is %d; this convirt reads version %d", ix.Format, IndexFormat)
	}
	seen := map[string]bool{}
	var errs []error
	for i, e := range ix.Plugins {
		at := fmt.Sprintf("plugins[%d] (%s)", i, e.Ref())
		if err := e.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		if seen[e.Ref()] {
			errs = append(errs, fmt.Errorf("%s: listed twice", at))
		}
		seen[e.Ref()] = true
	}
	return errors.Join(errs...)
}

// validate checks one entry.
func (e IndexEntry) validate() error {
	switch {
	case !nameRE.MatchString(e.Name):
		return fmt.Errorf("name %q: names are lower-case letters, digits, '.', '_' and '-'", e.Name)
	case !versionRE.MatchString(e.Version):
		return fmt.Errorf("version %q: want letters, digits, '.', '_', '+' and '-'", e.Version)
	case !e.Kind.Valid():
		return fmt.Errorf("kind %q: want one of %v", e.Kind, sdk.Kinds)
	case e.ProtocolVersion < 1:
		return fmt.Errorf("protocol_version %d: want the plugin protocol version (%d for this convirt)", e.ProtocolVersion, sdk.ProtocolVersion)
	case e.URL == "" && len(e.Platforms) == 0:
		return errors.New("neither url nor platforms: no binary to install")
	}
	if e.URL != "" || e.SHA256 != "" {
		if err := (Artifact{URL: e.URL, SHA256: e.SHA256}).validate(); err != nil {
			return err
		}
	}
	for p, a := range e.Platforms {
		if !platformRE.MatchString(p) {
			return fmt.Errorf("platform %q: want GOOS/GOARCH, e.g. %s", p, Platform())
		}
		if err := a.validate(); err != nil {
			return fmt.Errorf("platform %s: %w", p, err)
		}
	}
	return nil
}

// validate checks an artifact's URL and checksum.
func (a Artifact) validate() error {
	if a.URL == "" {
		return errors.New("url is empty")
	}
	if _, err := url.Parse(a.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if !sha256RE.MatchString(a.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", a.SHA256)
	}
	return nil
}

// Artifact returns the binary of e for platform ("GOOS/GOARCH").
func (e IndexEntry) Artifact(platform string) (Artifact, error) {
	if a, ok := e.Platforms[platform]; ok {
		return a, nil
	}
	if e.URL != "" {
		return Artifact{URL: e.URL, SHA256: e.SHA256}, nil
	}
	have := slices.Sorted(maps.Keys(e.Platforms))
	return Artifact{}, fmt.Errorf("%s has no binary for %s (only for %s)", e.Ref(), platform, strings.Join(have, ", "))
}

// Lookup returns the entry name@version; an empty version picks the newest
// one that speaks this convirt's plugin protocol.
func (ix *Index) Lookup(name, version string) (IndexEntry, error) {
	var found []IndexEntry
	for _, e := range ix.Plugins {
		if e.Name == name {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		return IndexEntry{}, fmt.Errorf("the index lists no plugin %q", name)
	}
	sort.Slice(found, func(i, j int) bool { return CompareVersions(found[i].Version, found[j].Version) > 0 })
	versions := make([]string, len(found))
	for i, e := range found {
		versions[i] = e.Version
	}
	for _, e := range found {
		if (version == "" && e.ProtocolVersion == sdk.ProtocolVersion) || e.Version == version {
			return e, nil
		}
	}
	if version == "" {
		return IndexEntry{}, fmt.Errorf("no version of %q in the index speaks plugin protocol %d (listed: %s)", name, sdk.ProtocolVersion, strings.Join(versions, ", "))
	}
	return IndexEntry{}, fmt.Errorf("the index lists no version %q of %q (listed: %s)", version, name, strings.Join(versions, ", "))
}

// put adds e, or merges its platforms into the entry of the same
// name@version. A platform already listed with another checksum is an
// error: a published version never changes.
func (ix *Index) put(e IndexEntry) error {
	for i := range ix.Plugins {
		old := &ix.Plugins[i]
		if old.Ref() != e.Ref() {
			continue
		}
		if old.Kind != e.Kind || old.ProtocolVersion != e.ProtocolVersion {
			return fmt.Errorf("the index lists %s as a %s plugin of protocol %d, this one is a %s plugin of protocol %d", e.Ref(), old.Kind, old.ProtocolVersion, e.Kind, e.ProtocolVersion)
		}
		for p, a := range e.Platforms {
			if prev, ok := old.Platforms[p]; ok && prev.SHA256 != a.SHA256 {
				return fmt.Errorf("the index already lists %s for %s with sha256 %s; this binary's is %s: a published version never changes, so bump the plugin's version", e.Ref(), p, prev.SHA256, a.SHA256)
			}
			if old.Platforms == nil {
				old.Platforms = map[string]Artifact{}
			}
			old.Platforms[p] = a
		}
		return nil
	}
	ix.Plugins = append(ix.Plugins, e)
	sort.SliceStable(ix.Plugins, func(i, j int) bool {
		a, b := ix.Plugins[i], ix.Plugins[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return CompareVersions(a.Version, b.Version) < 0
	})
	return nil
}

// SplitRef splits "name@version" (or "name") into its parts.
func SplitRef(ref string) (name, version string, err error) {
	name, version, _ = strings.Cut(ref, "@")
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("%q is not NAME or NAME@VERSION: invalid plugin name %q", ref, name)
	}
	if strings.Contains(ref, "@") && !versionRE.MatchString(version) {
		return "", "", fmt.Errorf("%q is not NAME@VERSION: invalid version %q", ref, version)
	}
	return name, version, nil
}

// CompareVersions orders versions like semantic versions: an optional "v",
// dot-separated numeric parts compared as numbers, a release after its
// pre-releases ("1.0.0-rc1" < "1.0.0"), build metadata ("+...") ignored.
// Parts that are not numbers compare as strings.
func CompareVersions(a, b string) int {
	split := func(v string) (core []string, pre string) {
		v = strings.TrimPrefix(v, "v")
		v, _, _ = strings.Cut(v, "+")
		v, pre, _ = strings.Cut(v, "-")
		return strings.Split(v, "."), pre
	}
	ac, ap := split(a)
	bc, bp := split(b)
	for i := range max(len(ac), len(bc)) {
		x, y := "0", "0"
		if i < len(ac) {
			x = ac[i]
		}
		if i < len(bc) {
			y = bc[i]
		}
		if c := comparePart(x, y); c != 0 {
			return c
		}
	}
	switch {
	case ap == bp:
		return 0
	case ap == "":
		return 1
	case bp == "":
		return -1
	}
	return comparePart(ap, bp)
}

// comparePart compares two version parts, numerically when both are numbers.
func comparePart(x, y string) int {
	nx, ex := strconv.ParseUint(x, 10, 64)
	ny, ey := strconv.ParseUint(y, 10, 64)
	switch {
	case ex == nil && ey == nil && nx < ny:
		return -1
	case ex == nil && ey == nil && nx > ny:
		return 1
	case ex == nil && ey == nil:
		return 0
	}
	return strings.Compare(x, y)
}
