package weights

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/bert"
	"github.com/convirt/convirt/plugins/models/modeltest"
	"github.com/convirt/convirt/plugins/models/resnet"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Python is Debian's interpreter, which has python3-torch and
// python3-torchvision (make setup); the PATH's python3 may be another.
const Python = "/usr/bin/python3"

// pytorch runs testdata/pytorch.py with args, single-threaded.
func pytorch(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(Python, append([]string{"testdata/pytorch.py"}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s testdata/pytorch.py %s (needs Debian's python3-torch and python3-torchvision: make setup): %v\n%s",
			Python, strings.Join(args, " "), err, out)
	}
}

// floats reads a raw little-endian float32 file.
func floats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func int64s(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// closeTo fails unless got and want agree elementwise to tol.
func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, PyTorch %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if !(worst <= tol) {
		t.Fatalf("%s: differs from PyTorch by %g at %d (%g vs %g), tolerance %g", what, worst, at, got[at], want[at], tol)
	}
	t.Logf("%s: largest difference from PyTorch %.2g over %d values", what, worst, len(got))
}

func values(t *testing.T, x *ts.Tensor) []float32 {
	t.Helper()
	flat := x.MustView([]int64{-1}, false)
	defer flat.MustDrop()
	v := flat.Float64Values(false)
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(v[i])
	}
	return out
}

// TestTorchvisionResNet50 loads a ResNet-50 state dict that torchvision
// saved with torch.save (a .pth, as torchvision publishes its weights) and
// checks that convirt's forward equals torchvision's on the same image.
func TestTorchvisionResNet50(t *testing.T) {
	modeltest.OneThread(t)
	dir := t.TempDir()
	pytorch(t, "resnet-save", dir)
	vs := nn.NewVarStore(gotch.CPU)
	m, err := resnet.New(vs.Root(), resnet.Config{Arch: resnet.ResNet50, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	ignoreFC := func(name string) bool { return strings.HasPrefix(name, "fc.") }
	if err := Load(vs, filepath.Join(dir, "resnet50.pth"), safetensors.LoadOptions{AllowUnexpected: ignoreFC}); err != nil {
		t.Fatal(err)
	}
	x, err := ts.OfSlice(floats(t, filepath.Join(dir, "x.bin")))
	if err != nil {
		t.Fatal(err)
	}
	x4 := x.MustView([]int64{1, 3, 64, 64}, true)
	defer x4.MustDrop()
	y, err := m.Forward(x4, false)
	if err != nil {
		t.Fatal(err)
	}
	defer y.MustDrop()
	closeTo(t, "ResNet-50 features", values(t, y), floats(t, filepath.Join(dir, "want.bin")), 1e-4)
}

// TestHuggingFaceBin loads a BERT that PyTorch saved as a Hugging Face
// pytorch_model.bin (BertForPreTraining's names: "bert." prefix, pooler
// and MLM head ignored) with its config.json, and checks convirt's pooled
// features against a PyTorch BERT's.
func TestHuggingFaceBin(t *testing.T) {
	modeltest.OneThread(t)
	dir := t.TempDir()
	pytorch(t, "bert-save", dir)
	cfg, err := bert.ReadHFConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	vs := nn.NewVarStore(gotch.CPU)
	m, err := bert.New(vs.Root(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := InDir(dir); got != filepath.Join(dir, "pytorch_model.bin") {
		t.Fatalf("InDir = %s, want the pytorch_model.bin", got)
	}
	ignore := func(name string) bool {
		return strings.HasPrefix(name, "pooler.") || strings.HasPrefix(name, "cls.") || strings.HasSuffix(name, "position_ids")
	}
	if err := Load(vs, InDir(dir), safetensors.LoadOptions{StripPrefix: "bert.", AllowUnexpected: ignore}); err != nil {
		t.Fatal(err)
	}
	shape := []int64{2, 7}
	ids := ts.MustOfSlice(int64s(t, filepath.Join(dir, "ids.bin"))).MustView(shape, true)
	mask := ts.MustOfSlice(int64s(t, filepath.Join(dir, "mask.bin"))).MustView(shape, true)
	defer ids.MustDrop()
	defer mask.MustDrop()
	y, err := m.Forward(ids, mask, false)
	if err != nil {
		t.Fatal(err)
	}
	defer y.MustDrop()
	closeTo(t, "BERT max-pooled features", values(t, y), floats(t, filepath.Join(dir, "want.bin")), 1e-4)
}
