package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/results"
)

// A plugin killed before its handshake, once while pretraining starts and
// once while an evaluation starts, is started again within
// train.max_restarts, as a plugin killed after its handshake is; the run
// finishes. The plugin is the example encoder behind a shell script that
// SIGKILLs itself, before running the encoder, on the starts the test arms.
func TestRunRestartsAPluginKilledBeforeItsHandshake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin and trains")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the wrapper script")
	}
	bin := buildExample(t)
	path, runsDir := exampleRecipe(t)
	arm := t.TempDir()
	wrapper := filepath.Join(t.TempDir(), exampleName)
	script := "#!" + sh + `
if [ -e ARM/pretrain ]; then rm ARM/pretrain; kill -9 $$; fi
if [ -e ARM/evaluate ] && grep -qs "pretraining stopped" RUNS/e2e/*/logs/run.log; then rm ARM/evaluate; kill -9 $$; fi
exec BIN "$@"
`
	script = strings.NewReplacer("ARM", arm, "RUNS", runsDir, "BIN", bin).Replace(script)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	installCLI(t, "-dir", dir, wrapper) // not armed yet: the probe starts
	for _, f := range []string{"pretrain", "evaluate"} {
		if err := os.WriteFile(filepath.Join(arm, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errs := runCLI(t, "run", path, "--plugins", dir)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, f := range []string{"pretrain", "evaluate"} {
		if _, err := os.Stat(filepath.Join(arm, f)); err == nil {
			t.Errorf("the %s start was not killed: the script never found it armed", f)
		}
	}
	for _, want := range []string{
		`plugin "` + exampleName + `" died while starting (signal: killed)`,
		`plugin "` + exampleName + `" died during evaluation probe (signal: killed): running the evaluation again`, // issue 24 item 10
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, errs)
		}
	}
	dirs := runDirs(t, runsDir, "e2e")
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	log, _ := os.ReadFile(filepath.Join(dirs[0], "logs", "run.log"))
	for _, want := range []string{
		`plugin "` + exampleName + `" died while starting (signal: killed); starting the plugins again (restart 1 of at most 3)`,
		`plugin "` + exampleName + `" died during evaluation probe (signal: killed); running the evaluation again (restart 1 of at most 3)`,
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("run.log lacks %q:\n%s", want, log)
		}
	}
	f, err := results.Read(filepath.Join(dirs[0], "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) == 0 {
		t.Error("results.json has no entries")
	}
}
