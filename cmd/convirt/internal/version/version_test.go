package version

import (
	"bytes"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/runs"
)

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	Write(&b, runs.Build{Version: "v0.0.0-20260102030405-0123456789ab+dirty", Revision: "0123456789abcdef",
		Modified: true, Time: "2026-01-02T03:04:05Z", GoVersion: "go1.26.0"}, "1.13.0", "/usr/lib")
	for _, want := range []string{"convirt  v0.0.0-20260102030405-0123456789ab+dirty\n",
		"revision 0123456789abcdef+dirty (2026-01-02T03:04:05Z)\n", "go       go1.26.0 ", "libtorch 1.13.0 (/usr/lib)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	// Without a stamped version, revision or libtorch: it says so, and
	// not with Go's bare "(devel)".
	b.Reset()
	Write(&b, runs.Build{Version: "(devel)", GoVersion: "go1.26.0"}, "", "")
	got := b.String()
	if !strings.Contains(got, "revision unknown\n") || strings.Contains(got, "libtorch") {
		t.Errorf("no revision, no libtorch:\n%s", got)
	}
	if strings.Contains(got, "(devel)") || !strings.Contains(got, "convirt  devel (unstamped: `make build` stamps the version)\n") {
		t.Errorf("an unstamped build:\n%s", got)
	}
}

func TestWriteCUDA(t *testing.T) {
	var b bytes.Buffer
	WriteCUDA(&b, false, 0)
	WriteCUDA(&b, true, 2)
	if b.String() != "cuda     no\ncuda     yes, 2 device(s)\n" {
		t.Errorf("WriteCUDA:\n%s", b.String())
	}
}

// Print asks the libtorch this process loaded; Debian's is CPU-only.
func TestPrint(t *testing.T) {
	var b bytes.Buffer
	Print(&b)
	if !strings.Contains(b.String(), "\ncuda     ") || !strings.HasPrefix(b.String(), "convirt  ") {
		t.Errorf("Print:\n%s", b.String())
	}
}
