package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/registry"
)

// exampleName and exampleVersion are what plugins/examples/encoder reports.
const exampleName, exampleVersion = "example-meanpool", "0.1.0"

// buildExample compiles the example external encoder plugin into a
// temporary directory, as a lab would build its own plugin: a separate
// binary, no change to convirt.
func buildExample(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH: cannot build the example plugin")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	bin := filepath.Join(t.TempDir(), exampleName)
	cmd := exec.Command(goTool, "build", "-o", bin, "./plugins/examples/encoder")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./plugins/examples/encoder: %v\n%s", err, out)
	}
	return bin
}

// installCLI runs `convirt plugins install` with args and fails on error.
func installCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"plugins", "install"}, args...)...)
	if code != 0 {
		t.Fatalf("convirt plugins install %v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return out
}

// exampleRecipe is the tiny recipe with the example plugin as the image
// encoder, and one linear evaluation.
func exampleRecipe(t *testing.T) (path, runsDir string) {
	return writeTiny(t, func(y string) string {
		y = strings.Replace(y, "  plugin: smallcnn\n  config: {proj_dim: 16, proj_hidden: 32, threads: 1}",
			"  plugin: "+exampleName+"\n  config: {grid: 4, features: 16, proj_dim: 16}", 1)
		y = y[:strings.Index(y, "  - name: retrieval")]
		y = strings.Replace(y, "fractions: [0.25, 1.0]", "fractions: [1.0]", 1)
		return strings.Replace(y, "seeds: 2", "seeds: 1", 1)
	})
}

// The example encoder, built as its own binary and installed through the
// CLI, pretrains and is evaluated in a recipe run by this convirt unchanged;
// once its installed binary is tampered with, the run refuses to start it.
func TestExternalPluginRunsInARecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin and trains")
	}
	bin := buildExample(t)
	dir := t.TempDir()
	out := installCLI(t, "-dir", dir, bin)
	m, err := (&registry.Registry{Dir: dir}).Get(exampleName)
	if err != nil || m.Version != exampleVersion || !strings.Contains(out, m.SHA256) {
		t.Fatalf("installed %+v (%v); install said:\n%s", m, err, out)
	}
	code, out, errs := runCLI(t, "plugins", "describe", "-dir", dir, exampleName)
	if code != 0 || !strings.Contains(out, "proj_dim") || !strings.Contains(out, m.SHA256) {
		t.Fatalf("describe: exit %d\n%s\n%s", code, out, errs)
	}

	path, runsDir := exampleRecipe(t)
	code, out, errs = runCLI(t, "run", path, "--plugins", dir)
	if code != 0 {
		t.Fatalf("convirt run with the external plugin: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	dirs := runDirs(t, runsDir, "e2e")
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	f, err := results.Read(filepath.Join(dirs[0], "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]bool{}
	for _, e := range f.Entries {
		if e.Protocol == "linear" && e.Metric == "auc" {
			inits[e.Init] = true
		}
	}
	if !inits["convirt"] || !inits["random"] {
		t.Errorf("results.json lacks linear AUCs for both inits: %+v", f.Entries)
	}
	tags, _ := os.ReadFile(filepath.Join(dirs[0], runs.TagsFile))
	var tm map[string]string
	if err := json.Unmarshal(tags, &tm); err != nil || tm["plugin."+exampleName] != "encoder "+exampleVersion+" sha256:"+m.SHA256 {
		t.Errorf("the run does not record the plugin's version and checksum: %s (%v)", tags, err)
	}

	// Tamper with the installed binary: verify fails, and a run refuses to
	// start the plugin, naming both checksums.
	fh, err := os.OpenFile(m.Binary, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString("tampered")
	fh.Close()
	actual, err := host.FileSHA256(m.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "plugins", "verify", "-dir", dir); code == 0 || !strings.Contains(out, "FAIL  "+exampleName) {
		t.Errorf("verify after tampering: exit %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, "run", path, "--plugins", dir)
	if code == 0 {
		t.Fatalf("a tampered plugin was started:\n%s", out)
	}
	if !strings.Contains(errs, m.SHA256) || !strings.Contains(errs, actual) || !strings.Contains(errs, "refusing to start") {
		t.Errorf("the failure does not name both checksums (recorded %s, actual %s):\n%s", m.SHA256, actual, errs)
	}
}

// A group publishes the example into an index; another installs it by
// name@version over HTTP, or by URL and checksum; a wrong checksum is
// refused, naming both sums, and installs nothing.
func TestPluginsInstallFromIndex(t *testing.T) {
	bin := buildExample(t)
	lab := t.TempDir()
	installCLI(t, "-dir", lab, bin)
	m, err := (&registry.Registry{Dir: lab}).Get(exampleName)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "index.json")
	code, out, errs := runCLI(t, "plugins", "index", "add", "-dir", lab, pub, exampleName)
	if code != 0 || !strings.Contains(out, "published "+exampleName+"@"+exampleVersion) {
		t.Fatalf("index add: exit %d\n%s\n%s", code, out, errs)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(pub))))
	defer srv.Close()
	index := srv.URL + "/index.json"
	if code, out, errs := runCLI(t, "plugins", "index", "list", index); code != 0 || !strings.Contains(out, exampleName) || !strings.Contains(out, registry.Platform()) {
		t.Fatalf("index list: exit %d\n%s\n%s", code, out, errs)
	}

	other := t.TempDir()
	out = installCLI(t, exampleName+"@"+exampleVersion, "--index", index, "-dir", other)
	got, err := (&registry.Registry{Dir: other}).Get(exampleName)
	if err != nil || got.SHA256 != m.SHA256 || got.Index != index || !strings.HasPrefix(got.Source, srv.URL) {
		t.Fatalf("installed from the index: %+v, %v\n%s", got, err, out)
	}
	t.Setenv(registry.EnvIndex, index) // the default index; newest version
	installCLI(t, "-dir", t.TempDir(), exampleName)
	if code, _, errs := runCLI(t, "plugins", "install", "-dir", t.TempDir(), exampleName+"@9.9.9"); code == 0 || !strings.Contains(errs, `no version "9.9.9"`) {
		t.Errorf("unknown version: exit %d\n%s", code, errs)
	}

	// By URL: the checksum is required and checked.
	ix, err := registry.ReadIndexFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ix.Plugins[0].Artifact(registry.Platform())
	binURL := srv.URL + "/" + a.URL
	if code, _, errs := runCLI(t, "plugins", "install", "-dir", t.TempDir(), binURL); code == 0 || !strings.Contains(errs, "known checksum") {
		t.Errorf("install URL without -sha256: exit %d\n%s", code, errs)
	}
	installCLI(t, "-dir", t.TempDir(), "-sha256", m.SHA256, binURL)

	// A wrong checksum in the index is refused before anything is installed.
	const wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ix.Plugins[0].Platforms[registry.Platform()] = registry.Artifact{URL: a.URL, SHA256: wrong}
	b, _ := json.Marshal(ix)
	if err := os.WriteFile(pub, b, 0o644); err != nil {
		t.Fatal(err)
	}
	victim := t.TempDir()
	code, _, errs = runCLI(t, "plugins", "install", "-dir", victim, "-index", index, exampleName+"@"+exampleVersion)
	if code == 0 || !strings.Contains(errs, wrong) || !strings.Contains(errs, m.SHA256) || !strings.Contains(errs, "refusing to install") {
		t.Fatalf("wrong sha256 in the index: exit %d\n%s", code, errs)
	}
	if list, _ := (&registry.Registry{Dir: victim}).List(); len(list) != 0 {
		t.Errorf("a refused install left %+v", list)
	}
}
