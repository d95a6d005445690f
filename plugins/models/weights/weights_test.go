package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// TestReadErrorsAndConvert: a missing file says where to get weights and
// how to convert them; a file in no known format, and torch.save's pre-1.6
// format, are named as such; Convert keeps every tensor bit for bit and
// writes nothing on error.
func TestReadErrorsAndConvert(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "resnet50-0676ba61.pth")
	_, _, err := Read(missing)
	for _, want := range []string{missing, "https://download.pytorch.org/models/resnet50-0676ba61.pth", "Bio_ClinicalBERT", "convirt weights convert"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("missing file: %v, want an error containing %q", err, want)
		}
	}
	for name, c := range map[string]struct{ data, want string }{
		"notes.txt":  {"hello, weights", "neither a .safetensors file nor a torch.save state dict"},
		"old.pth":    {"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", "before 1.6: legacy header pickle 2"},
		"empty.bin":  {"", "neither"},
		"broken.pth": {"PK\x03\x04 not really a zip", "broken.pth (torch.save)"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file and containing %q", name, err, c.want)
		}
		out := filepath.Join(dir, name+".safetensors")
		if _, _, err := Convert(path, out); err == nil {
			t.Errorf("%s converted", name)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: %s written on error", name, out)
		}
	}

	pytorch(t, "bert-save", dir)
	bin := filepath.Join(dir, "pytorch_model.bin")
	out := filepath.Join(dir, "model.safetensors")
	format, n, err := Convert(bin, out)
	if err != nil || format != TorchSave || n != 41 {
		t.Fatalf("Convert = %s, %d tensors, %v; want torch.save, 41 (BertForPreTraining: 5 embeddings, 16 a layer, pooler, position_ids, MLM bias)", format, n, err)
	}
	a, _, err := Read(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, format, err := Read(out)
	if err != nil || format != Safetensors {
		t.Fatalf("reading the converted file: %s, %v", format, err)
	}
	for name, x := range a.Tensors {
		y := b.Tensors[name]
		if x.DType != y.DType || !reflect.DeepEqual(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
			t.Errorf("%s: %s%v converted to %s%v, or its data changed", name, x.DType, x.Shape, y.DType, y.Shape)
		}
	}
	if len(b.Tensors) != len(a.Tensors) || b.Metadata["convirt.converted_from"] != "pytorch_model.bin" {
		t.Errorf("converted file: %d tensors (want %d), metadata %v", len(b.Tensors), len(a.Tensors), b.Metadata)
	}
	if got := InDir(dir); got != out {
		t.Errorf("InDir prefers %s, want model.safetensors", got)
	}
}
