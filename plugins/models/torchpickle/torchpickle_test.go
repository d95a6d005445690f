package torchpickle

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/safetensors"
)

// python is Debian's interpreter, which has python3-torch (make setup);
// the PATH's python3 may be another without it.
const python = "/usr/bin/python3"

// writeFixtures runs testdata/write.py into a temporary directory.
func writeFixtures(t *testing.T) (dir, victim string) {
	t.Helper()
	dir = t.TempDir()
	victim = filepath.Join(dir, "pwned")
	cmd := exec.Command(python, "testdata/write.py", dir, victim)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s testdata/write.py (needs Debian's python3-torch: make setup): %v\n%s", python, err, out)
	}
	return dir, victim
}

// values decodes t's little-endian elements as float64.
func values(t *testing.T, x safetensors.Tensor) []float64 {
	t.Helper()
	var out []float64
	d := x.Data
	for len(d) > 0 {
		var v float64
		switch x.DType {
		case "F64":
			v, d = math.Float64frombits(binary.LittleEndian.Uint64(d)), d[8:]
		case "F32":
			v, d = float64(math.Float32frombits(binary.LittleEndian.Uint32(d))), d[4:]
		case "BF16":
			v, d = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(d))<<16)), d[2:]
		case "F16":
			v, d = half(binary.LittleEndian.Uint16(d)), d[2:]
		case "I64":
			v, d = float64(int64(binary.LittleEndian.Uint64(d))), d[8:]
		case "I32":
			v, d = float64(int32(binary.LittleEndian.Uint32(d))), d[4:]
		case "I16":
			v, d = float64(int16(binary.LittleEndian.Uint16(d))), d[2:]
		case "I8":
			v, d = float64(int8(d[0])), d[1:]
		case "U8", "BOOL":
			v, d = float64(d[0]), d[1:]
		default:
			t.Fatalf("dtype %s", x.DType)
		}
		out = append(out, v)
	}
	return out
}

// half decodes a normal or zero IEEE half (all the fixtures use).
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	if exp == 0 {
		return sign * frac / 1024 * math.Pow(2, -14)
	}
	return sign * (1 + frac/1024) * math.Pow(2, float64(exp-15))
}

// TestReadsPyTorchStateDict reads an OrderedDict state dict torch.save
// wrote (which libtorch's own pickle_load rejects), in today's zip archive
// and in the format of PyTorch before 1.6, and checks every name, dtype,
// shape and value against what PyTorch lists.
func TestReadsPyTorchStateDict(t *testing.T) {
	dir, _ := writeFixtures(t)
	for _, name := range []string{"state.pth", "legacy.pth"} {
		t.Run(name, func(t *testing.T) { compareWithPyTorch(t, dir, name) })
	}
}

func compareWithPyTorch(t *testing.T, dir, name string) {
	f, err := ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		DType  string    `json:"dtype"`
		Shape  []int64   `json:"shape"`
		Values []float64 `json:"values"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors, PyTorch has %d", len(f.Tensors), len(want))
	}
	for name, w := range want {
		got, ok := f.Tensors[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if got.DType != w.DType || !sameShape(got.Shape, w.Shape) {
			t.Errorf("%s: %s%v, PyTorch %s%v", name, got.DType, got.Shape, w.DType, w.Shape)
			continue
		}
		gv := values(t, got)
		if len(gv) != len(w.Values) {
			t.Errorf("%s: %d values, PyTorch %d", name, len(gv), len(w.Values))
			continue
		}
		for i := range gv {
			if gv[i] != w.Values[i] {
				t.Errorf("%s[%d] = %v, PyTorch %v", name, i, gv[i], w.Values[i])
				break
			}
		}
	}
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRefusesWhatIsNotAStateDict checks the errors for a training
// checkpoint, a truncated pre-1.6 file, a file that is no archive, a damaged
// archive, and a pickle that would run os.system: refused, and not run.
func TestRefusesWhatIsNotAStateDict(t *testing.T) {
	dir, victim := writeFixtures(t)
	good, err := os.ReadFile(filepath.Join(dir, "state.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"nested":     {read(t, dir, "nested.pth"), `entry "model" is a GenericDict, not a tensor`},
		"legacy":     {read(t, dir, "legacy.pth")[:1000], "before 1.6"},
		"evil":       {read(t, dir, "evil.pth"), "posix.system"},
		"evil-pre16": {read(t, dir, "evil-legacy.pth"), "posix.system"},
		"text":       {[]byte("hello"), "not a torch.save zip archive"},
		"empty":      {nil, "not a torch.save zip archive"},
		"truncated":  {good[:len(good)/2], "open archive"},
	} {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) {
		t.Fatalf("the pickled os.system call ran (%s exists: %v)", victim, err)
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
