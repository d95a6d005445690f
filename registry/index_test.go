package registry_test

import (
	"strings"
	"testing"

	"github.com/convirt/convirt/registry"
)

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const sumB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

const goodIndex = `{
  "index_version": 1,
  "plugins": [
    {"name": "meanpool", "version": "0.9.0", "kind": "encoder", "protocol_version": 1, "url": "https://lab.example/meanpool-0.9.0", "sha256": "` + sumA + `"},
    {"name": "meanpool", "version": "0.10.0", "kind": "encoder", "protocol_version": 1, "description": "newest",
     "platforms": {"linux/amd64": {"url": "meanpool/0.10.0/linux-amd64/meanpool", "sha256": "` + sumB + `"}}},
    {"name": "meanpool", "version": "2.0.0", "kind": "encoder", "protocol_version": 2, "url": "m2", "sha256": "` + sumA + `"},
    {"name": "meanpool", "version": "0.10.0-rc1", "kind": "encoder", "protocol_version": 1, "url": "rc", "sha256": "` + sumA + `"}
  ]
}`

func TestParseIndexAndLookup(t *testing.T) {
	ix, err := registry.ParseIndex([]byte(goodIndex), "good.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Plugins) != 4 {
		t.Fatalf("%d plugins", len(ix.Plugins))
	}
	// Newest version speaking this protocol: 0.10.0 (2.0.0 speaks 2; the
	// release is newer than its release candidate and than 0.9.0).
	e, err := ix.Lookup("meanpool", "")
	if err != nil || e.Version != "0.10.0" || e.Description != "newest" {
		t.Fatalf("Lookup newest = %+v, %v", e, err)
	}
	if a, err := e.Artifact("linux/amd64"); err != nil || a.SHA256 != sumB {
		t.Fatalf("Artifact linux/amd64 = %+v, %v", a, err)
	}
	if _, err := e.Artifact("plan9/mips"); err == nil || !strings.Contains(err.Error(), "no binary for plan9/mips (only for linux/amd64)") {
		t.Fatalf("Artifact of a missing platform: %v", err)
	}
	e, err = ix.Lookup("meanpool", "0.9.0")
	if a, aerr := e.Artifact("plan9/mips"); err != nil || aerr != nil || a.URL != "https://lab.example/meanpool-0.9.0" || a.SHA256 != sumA {
		t.Fatalf("Lookup 0.9.0 = %+v %+v, %v %v", e, a, err, aerr)
	}
	if e, err := ix.Lookup("meanpool", "2.0.0"); err != nil || e.ProtocolVersion != 2 {
		t.Fatalf("an explicit version is found whatever its protocol: %+v, %v", e, err)
	}
	if _, err := ix.Lookup("meanpool", "0.11"); err == nil || !strings.Contains(err.Error(), `no version "0.11" of "meanpool" (listed: 2.0.0, 0.10.0, 0.10.0-rc1, 0.9.0)`) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := ix.Lookup("other", ""); err == nil || !strings.Contains(err.Error(), `no plugin "other"`) {
		t.Fatalf("missing plugin: %v", err)
	}
}

func TestParseIndexRejects(t *testing.T) {
	entry := func(fields string) string {
		return `{"index_version": 1, "plugins": [{` + fields + `}]}`
	}
	ok := `"name": "p", "version": "1.0", "kind": "loss", "protocol_version": 1`
	for _, c := range []struct{ json, want string }{
		{`{"index_version": 2, "plugins": []}`, "index_version is 2"},
		{`{"index_version": 1, "plugins": [], "extra": 1}`, `unknown field "extra"`},
		{entry(`"name": "P", "version": "1", "kind": "loss", "protocol_version": 1, "url": "x", "sha256": "` + sumA + `"`), `name "P"`},
		{entry(`"name": "p", "version": "1 beta", "kind": "loss", "protocol_version": 1, "url": "x", "sha256": "` + sumA + `"`), `version "1 beta"`},
		{entry(`"name": "p", "version": "1", "kind": "model", "protocol_version": 1, "url": "x", "sha256": "` + sumA + `"`), `kind "model"`},
		{entry(`"name": "p", "version": "1", "kind": "loss", "url": "x", "sha256": "` + sumA + `"`), "protocol_version 0"},
		{entry(ok), "neither url nor platforms"},
		{entry(ok + `, "url": "x", "sha256": "ABC"`), `sha256 "ABC" is not 64 lower-case hex digits`},
		{entry(ok + `, "url": "x"`), `sha256 "" is not`},
		{entry(ok + `, "platforms": {"linux": {"url": "x", "sha256": "` + sumA + `"}}`), `platform "linux"`},
		{entry(ok + `, "platforms": {"linux/amd64": {"url": "", "sha256": "` + sumA + `"}}`), "platform linux/amd64: url is empty"},
		{`{"index_version": 1, "plugins": [{` + ok + `, "url": "x", "sha256": "` + sumA + `"}, {` + ok + `, "url": "y", "sha256": "` + sumB + `"}]}`, "plugins[1] (p@1.0): listed twice"},
		{`not json`, "invalid character"},
	} {
		_, err := registry.ParseIndex([]byte(c.json), "ix.json")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "index ix.json") {
			t.Errorf("%s:\n  error %v\n  want %q", c.json, err, c.want)
		}
	}
}

func TestCompareVersionsAndSplitRef(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0}, {"1.10.0", "1.9.0", 1}, {"v2", "1.99", 1}, {"1.0", "1.0.0", 0},
		{"1.0.0-rc1", "1.0.0", -1}, {"1.0.0-rc2", "1.0.0-rc10", 1}, {"1.0.0+build5", "1.0.0", 0}, {"0.1.0-alpha", "0.1.0-beta", -1},
	} {
		if got := registry.CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := registry.CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	for ref, want := range map[string][2]string{"meanpool@0.1.0": {"meanpool", "0.1.0"}, "meanpool": {"meanpool", ""}} {
		n, v, err := registry.SplitRef(ref)
		if err != nil || n != want[0] || v != want[1] {
			t.Errorf("SplitRef(%q) = %q %q %v", ref, n, v, err)
		}
	}
	for _, bad := range []string{"Mean@1", "mean@", "mean@1 2", "./mean"} {
		if _, _, err := registry.SplitRef(bad); err == nil {
			t.Errorf("SplitRef(%q) accepted", bad)
		}
	}
}
