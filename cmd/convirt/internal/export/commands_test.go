package export

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/cmd/convirt/internal/cli"
	"github.com/convirt/convirt/plugins/models/safetensors"
)

// TestCommands: the commands' argument errors are usage errors (exit code
// 2), weights convert writes what it reads, and export prints what it wrote
// and names the missing step checkpoint with those present.
func TestCommands(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	for _, c := range []struct {
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
	}{
		{runExport, nil},
		{runExport, []string{"runs/x"}},
		{runConvert, []string{"only-in.pth"}},
	} {
		if err := c.run(ctx, c.args, &out, &errb); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("%v: %v, want a usage error", c.args, err)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.safetensors")
	f := &safetensors.File{Tensors: map[string]safetensors.Tensor{"w": {DType: "F32", Shape: []int64{1}, Data: []byte{0, 0, 128, 63}}}}
	if err := safetensors.WriteFile(in, f); err != nil {
		t.Fatal(err)
	}
	conv := filepath.Join(dir, "out.safetensors")
	out.Reset()
	if err := runConvert(ctx, []string{in, conv}, &out, &errb); err != nil || !strings.Contains(out.String(), "safetensors, 1 tensors") {
		t.Fatalf("weights convert: %v, printed %q", err, out.String())
	}
	if _, err := os.Stat(conv); err != nil {
		t.Fatal(err)
	}

	fx := newFixture(t)
	out.Reset()
	err := runExport(ctx, []string{fx.run, "--checkpoint", "step-3", "--out", filepath.Join(dir, "e")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "step-000000000.ckpt") {
		t.Fatalf("export of a missing step: %v, want an error listing step-000000000.ckpt", err)
	}
	if err := runExport(ctx, []string{fx.run, "--out", filepath.Join(dir, "e")}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exported the last weights (step 0)") || !strings.Contains(out.String(), ImageHeadFile) {
		t.Errorf("export printed %q", out.String())
	}
}
