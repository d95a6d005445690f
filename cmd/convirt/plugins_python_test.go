package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/procs"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/registry"
)

// debianPython is the interpreter Python plugins run on: Debian's, whose
// python3-torch, python3-grpcio, ... `make setup` installs (a python3
// earlier on PATH, a pyenv one say, lacks them).
const debianPython = "/usr/bin/python3"

// pythonModules are what the Python SDK and the torch-resnet example import.
const pythonModules = "import grpc, google.protobuf, numpy, cryptography, torch, torchvision"

// needPythonTorch skips the test when Debian's Python lacks the SDK's
// packages, unless $CI is set: there they must be installed, and the test
// fails instead.
func needPythonTorch(t *testing.T) {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", pythonModules).CombinedOutput()
	if err == nil {
		return
	}
	msg := "%s cannot import the Python plugin SDK's packages (python3-grpcio python3-protobuf python3-numpy python3-cryptography python3-torch python3-torchvision; make setup installs them): %v\n%s"
	if os.Getenv("CI") != "" {
		t.Fatalf(msg, debianPython, err, out)
	}
	t.Skipf(msg, debianPython, err, out)
}

// buildTorchExample packs plugins/examples/pytorch-encoder with the SDK into
// one executable, as its build.sh documents.
func buildTorchExample(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "torch-resnet")
	cmd := exec.Command("/bin/sh", filepath.Join(root, "plugins", "examples", "pytorch-encoder", "build.sh"), bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	return bin
}

// torchRecipe is the tiny recipe with torch-resnet as the image encoder
// beside the Go text encoder, no evaluations, on one batch that can be
// overfit: 12 of the 13 training pairs, images and texts the same each
// epoch (no augmentation, whole reports).
func torchRecipe(t *testing.T) (path, runsDir string) {
	return writeTiny(t, func(y string) string {
		for _, r := range [][2]string{
			{"pairs: 48", "pairs: 16"},
			{"MIMIC-CXR, image_size: 32, workers: 1}", "MIMIC-CXR, image_size: 32, workers: 1, text_sampling: report, augment: {crop_scale: [1, 1], crop_ratio: [1, 1], rotation: 0, translate: 0, scale: [1, 1], brightness: [1, 1], contrast: [1, 1], blur_p: 0}}"},
			{"  plugin: smallcnn\n  config: {proj_dim: 16, proj_hidden: 32, threads: 1}", "  plugin: torch-resnet\n  config: {arch: resnet18, proj_dim: 16, proj_hidden: 32, threads: 1}"},
			{"batch_size: 8, epochs: 0, max_steps: 4", "batch_size: 12, epochs: 0, max_steps: 8"},
			{"checkpoint_every: 2", "checkpoint_every: 4"},
		} {
			if !strings.Contains(y, r[0]) {
				t.Fatalf("the tiny recipe has no %q to replace:\n%s", r[0], y)
			}
			y = strings.Replace(y, r[0], r[1], 1)
		}
		return y[:strings.Index(y, "evaluate:")]
	})
}

// killPython SIGKILLs this process's child that runs Debian's Python (the
// installed plugin runs as "/usr/bin/python3 /proc/self/fd/N") and returns
// its pid, or 0 when there is none.
func killPython(t *testing.T) int {
	t.Helper()
	for _, p := range procs.Children(os.Getpid()) {
		if len(p.Args) > 0 && p.Args[0] == debianPython && syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			return p.PID
		}
	}
	return 0
}

// An image encoder written in PyTorch with the Python SDK, installed through
// the CLI, pretrains beside the Go text encoder by the split step: the loss
// falls on a batch it can overfit, and when its process is killed after
// the first checkpoint the host restarts it from that checkpoint (its
// state: weights, Adam's moments, RNG) and the run finishes.
func TestPythonPluginPretrainsAndRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PyTorch and trains")
	}
	needPythonTorch(t)
	bin := buildTorchExample(t)
	dir := t.TempDir()
	out := installCLI(t, "-dir", dir, bin)
	m, err := (&registry.Registry{Dir: dir}).Get("torch-resnet")
	if err != nil || m.Kind != "encoder" || m.ProtocolVersion != 1 || !strings.Contains(out, m.SHA256) {
		t.Fatalf("installed %+v (%v); install said:\n%s", m, err, out)
	}
	if code, out, errs := runCLI(t, "plugins", "describe", "-dir", dir, "torch-resnet"); code != 0 || !strings.Contains(out, "resnet34") || !strings.Contains(out, "proj_hidden") {
		t.Fatalf("describe: exit %d\n%s\n%s", code, out, errs)
	}

	path, runsDir := torchRecipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := make(chan int, 1)
	go func() { // kill the plugin once the run holds its first checkpoint
		for ctx.Err() == nil {
			if cks, _ := filepath.Glob(filepath.Join(runsDir, "e2e", "*", "checkpoints", "step-*.ckpt")); len(cks) > 0 {
				killed <- killPython(t)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		killed <- 0
	}()
	code, stdout, errs := runCLI(t, "run", path, "--plugins", dir)
	cancel()
	if code != 0 {
		t.Fatalf("convirt run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, errs)
	}
	if pid := <-killed; pid == 0 {
		t.Fatal("found no Python plugin process to kill")
	}
	runDir := runDirs(t, runsDir, "e2e")[0]
	if !strings.Contains(errs, `plugin "torch-resnet" died`) {
		t.Errorf("the restart is not reported:\n%s", errs)
	}
	log, _ := os.ReadFile(filepath.Join(runDir, "logs", "run.log"))
	if !strings.Contains(string(log), "restarting the plugins and resuming from the newest checkpoint") {
		t.Errorf("run.log does not record the restart:\n%s", log)
	}
	if meta, err := runs.ReadMeta(runDir); err != nil || meta.Status != runs.Finished {
		t.Errorf("run status %q (%v)", meta.Status, err)
	}
	checkTorchLoss(t, runDir, 8)
}

// checkTorchLoss checks a run's train/loss: every step up to steps logged;
// a step trained twice (after the checkpoint the restart resumed from, and
// before the kill) has the same loss both times, since the state restored
// is the whole of it; and the mean of the last three steps' losses is below
// that of the first three by a clear margin.
func checkTorchLoss(t *testing.T, runDir string, steps int) {
	t.Helper()
	ms, err := runs.ReadMetrics(runDir)
	if err != nil {
		t.Fatal(err)
	}
	loss := map[int64]float64{}
	for _, m := range ms {
		if m.Key != "train/loss" {
			continue
		}
		if prev, seen := loss[m.Step]; seen && (prev-m.Value > 1e-4 || m.Value-prev > 1e-4) {
			t.Errorf("step %d trained twice (before and after the restart) has loss %v, then %v", m.Step, prev, m.Value)
		}
		loss[m.Step] = m.Value
	}
	var first, last float64
	for s := 1; s <= steps; s++ {
		v, ok := loss[int64(s)]
		if !ok {
			t.Fatalf("no train/loss at step %d: %v", s, loss)
		}
		if s <= 3 {
			first += v / 3
		}
		if s > steps-3 {
			last += v / 3
		}
	}
	t.Logf("train/loss: mean %.4f over the first 3 steps, %.4f over the last 3", first, last)
	if last > first-0.5 {
		t.Errorf("the loss does not fall: mean %.4f over the first 3 steps, %.4f over the last 3: %v", first, last, loss)
	}
}
