package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The Python SDK's own unit tests (plugins/sdk/python/tests) and the
// torch-resnet example's (plugins/examples/pytorch-encoder) pass under
// Debian's Python, run in one process so that torch is imported once.
func TestPythonSDKUnitTests(t *testing.T) {
	needPythonTorch(t)
	root := filepath.Join("..", "..")
	cmd := exec.Command(debianPython, "-B", "-m", "unittest", "test_sdk", "test_torch_resnet")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "plugins", "sdk", "python", "tests")+
		string(filepath.ListSeparator)+filepath.Join(root, "plugins", "examples", "pytorch-encoder"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python unit tests: %v\n%s", err, out)
	}
}

// The committed Python stubs are what generate.sh makes of the .proto files
// now, plugin.proto (the Go side's) included: a change to the protocol
// that was not regenerated for Python fails here.
func TestPythonStubsAreGenerated(t *testing.T) {
	for _, tool := range []string{"protoc", "grpc_python_plugin"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install protobuf-compiler protobuf-compiler-grpc): cannot regenerate the Python stubs", tool)
		}
	}
	sdk := filepath.Join("..", "..", "plugins", "sdk", "python")
	out := t.TempDir()
	if b, err := exec.Command("/bin/sh", filepath.Join(sdk, "generate.sh"), out).CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, b)
	}
	gen, err := filepath.Glob(filepath.Join(out, "convirt_plugin", "pb", "*.py"))
	if err != nil || len(gen) == 0 {
		t.Fatalf("generate.sh wrote no stubs (%v)", err)
	}
	for _, g := range gen {
		want, _ := os.ReadFile(g)
		committed := filepath.Join(sdk, "convirt_plugin", "pb", filepath.Base(g))
		have, err := os.ReadFile(committed)
		if err != nil || !bytes.Equal(have, want) {
			t.Errorf("%s is not what plugins/sdk/python/generate.sh makes of the .proto files now (%v): run it and commit the result", committed, err)
		}
	}
}
