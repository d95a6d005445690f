package runs

import "testing"

// A version stamped at link time (make build: git describe) is the
// binary's version, in place of Go's "(devel)".
func TestReadBuildStampedVersion(t *testing.T) {
	old := linkVersion
	t.Cleanup(func() { linkVersion = old })
	linkVersion = "v1.2.3-4-gabcdef1-dirty"
	if v := ReadBuild().Version; v != linkVersion {
		t.Errorf("ReadBuild().Version = %q, want the stamped %q", v, linkVersion)
	}
}
