package runs

import (
	"runtime"
	"runtime/debug"
	"strconv"
)

// Stamped at link time by `make build`:
//
//	-ldflags "-X github.com/convirt/convirt/core/runs.linkRevision=$(git rev-parse HEAD) ..."
//
// so that the binary names its commit even where the go command stamps no
// VCS information (GOFLAGS=-buildvcs=false, a build outside the checkout).
// Empty values fall back to debug.ReadBuildInfo's vcs.* settings.
var (
	linkVersion  string // version, as git describe --tags --always --dirty prints it
	linkRevision string // commit, as git rev-parse HEAD prints it
	linkModified string // "true" when the tree had uncommitted changes
	linkTime     string // commit time, RFC 3339
)

// Build identifies the convirt binary itself: which commit of convirt's
// source it was built from. It is distinct from the git state of the
// working directory a run is started in (Env.GitCommit), which is the
// user's project.
type Build struct {
	// Version is the main module's version: a tag, a pseudo-version such
	// as v0.0.0-20260101120000-abcdef123456+dirty, or "(devel)".
	Version string `json:"version"`
	// Revision is the full commit hash, "" when the build recorded none.
	Revision string `json:"revision,omitempty"`
	// Modified says the tree had uncommitted changes at build time.
	Modified bool `json:"modified,omitempty"`
	// Time is the commit time (RFC 3339), "" when unknown.
	Time string `json:"time,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// ReadBuild returns what the running binary knows about its own build:
// the values stamped by -ldflags -X when set, else the vcs.* settings the
// go command embeds (go build in a git checkout, unless -buildvcs=false).
// A test binary carries neither, so its Revision is "".
func ReadBuild() Build {
	b := Build{Version: "(devel)", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		b.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "vcs.time":
				b.Time = s.Value
			}
		}
	}
	if linkVersion != "" {
		b.Version = linkVersion
	}
	return b.withLink(linkRevision, linkModified, linkTime)
}

// withLink overrides b with link-time values; a revision stamped at link
// time also brings its modified flag and time (they describe one build).
func (b Build) withLink(revision, modified, time string) Build {
	if revision == "" {
		return b
	}
	b.Revision = revision
	b.Modified, _ = strconv.ParseBool(modified)
	b.Time = time
	return b
}

// RevisionString is the revision with "+dirty" when the tree was modified,
// "unknown" when the build recorded none.
func (b Build) RevisionString() string {
	switch {
	case b.Revision == "":
		return "unknown"
	case b.Modified:
		return b.Revision + "+dirty"
	}
	return b.Revision
}
