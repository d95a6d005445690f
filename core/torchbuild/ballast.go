package torchbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TensorGoFile is gotch's hand-written Tensor type.
const TensorGoFile = "ts/tensor.go"

// gotch v0.9.1 attaches a 100 KB Go array to every Tensor it wraps, so that
// Go's garbage collector, seeing the Go heap grow, runs often enough to
// finalise (and free) tensors nobody dropped. The project drops its tensors
// explicitly, and a training step wraps thousands of them: the ballast cost
// about 300 MB of Go allocation per ResNet-50 + BERT step, a garbage
// collection every few dozen ops and 10-25% more CPU time on small models.
// The fitted copy leaves it out; undropped tensors are still freed by their
// finalizers, only later.
const (
	ballastLine = "\tx.d = new(bigStruct)\n"
	ballastFix  = "\t// convirt: no 100 KB Go ballast per tensor (core/torchbuild/ballast.go)\n"
)

// PatchBallast removes the per-tensor ballast from src, gotch's ts/tensor.go.
func PatchBallast(src string) (string, error) {
	if n := strings.Count(src, ballastLine); n != 1 {
		return "", fmt.Errorf("%s: found the ballast allocation %d times, want 1; gotch's code changed", TensorGoFile, n)
	}
	return strings.Replace(src, ballastLine, ballastFix, 1), nil
}

// patchBallast applies PatchBallast to the gotch copy in dir.
func patchBallast(dir string) error {
	p := filepath.Join(dir, filepath.FromSlash(TensorGoFile))
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	src, err := PatchBallast(string(b))
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(src), 0o644)
}
