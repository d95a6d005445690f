package safetensors

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

var toGotch = map[string]gotch.DType{
	"F64": gotch.Double, "F32": gotch.Float, "F16": gotch.Half, "BF16": gotch.BFloat16,
	"I64": gotch.Int64, "I32": gotch.Int, "I16": gotch.Int16, "I8": gotch.Int8,
	"U8": gotch.Uint8, "BOOL": gotch.Bool,
}

func fromGotch(d gotch.DType) (string, bool) {
	for k, v := range toGotch {
		if v == d {
			return k, true
		}
	}
	return "", false
}

func isFloat(d string) bool { return d == "F64" || d == "F32" || d == "F16" || d == "BF16" }

// LoadOptions adjusts how file names map onto VarStore names.
type LoadOptions struct {
	// StripPrefix is removed from file names first (e.g. "bert." for a
	// Hugging Face BertModel checkpoint loaded into a bare encoder).
	StripPrefix string
	// AllowMissing, if set, reports VarStore variables that may be absent
	// from the file (they keep their values).
	AllowMissing func(name string) bool
	// AllowUnexpected, if set, reports file tensors that may be ignored.
	AllowUnexpected func(name string) bool
	// VarPrefix, if set, restricts loading to the VarStore variables whose
	// names start with it, matched against the file without it: weights of
	// a bare network loaded into "net." of a bigger model.
	VarPrefix string
}

// MismatchError lists every problem found when matching a file against a
// VarStore, so one run shows them all.
type MismatchError struct {
	Path       string
	Missing    []string // in the VarStore, not in the file
	Unexpected []string // in the file, not in the VarStore
	Mismatched []string // "name: file F32[3 4], model [4 3]"
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "safetensors %s does not match the model:", e.Path)
	for _, s := range []struct {
		what  string
		names []string
	}{{"missing", e.Missing}, {"unexpected", e.Unexpected}, {"mis-shaped", e.Mismatched}} {
		if len(s.names) > 0 {
			fmt.Fprintf(&b, "\n  %d %s: %s", len(s.names), s.what, strings.Join(s.names, ", "))
		}
	}
	return b.String()
}

// Load copies the tensors of the file at path into the variables of vs with
// the same names, converting between float dtypes as needed. Nothing is
// copied unless every name and shape matches (subject to opts); a
// *MismatchError lists all the differences.
func Load(vs *nn.VarStore, path string, opts LoadOptions) error {
	f, err := ReadFile(path)
	if err != nil {
		return err
	}
	return LoadFile(vs, f, path, opts)
}

// LoadFile is Load for a file already in memory; path only names it in
// errors.
func LoadFile(vs *nn.VarStore, f *File, path string, opts LoadOptions) error {
	file := make(map[string]Tensor, len(f.Tensors))
	for name, t := range f.Tensors {
		file[strings.TrimPrefix(name, opts.StripPrefix)] = t
	}
	// Variables returns struct copies: keep vs, whose finalizers would free
	// the underlying C tensors, alive until the copies are no longer used.
	defer runtime.KeepAlive(vs)
	vars := map[string]ts.Tensor{}
	for name, v := range vs.Variables() {
		if rest, ok := strings.CutPrefix(name, opts.VarPrefix); ok {
			vars[rest] = v
		}
	}
	mm := &MismatchError{Path: path}
	for name, v := range vars {
		t, ok := file[name]
		if !ok {
			if opts.AllowMissing == nil || !opts.AllowMissing(name) {
				mm.Missing = append(mm.Missing, name)
			}
			continue
		}
		want := v.MustSize()
		vd, _ := fromGotch(v.DType())
		if !sameShape(want, t.Shape) || isFloat(vd) != isFloat(t.DType) {
			mm.Mismatched = append(mm.Mismatched, fmt.Sprintf("%s: file %s%v, model %s%v", name, t.DType, t.Shape, vd, want))
		}
	}
	for name := range file {
		if _, ok := vars[name]; !ok && (opts.AllowUnexpected == nil || !opts.AllowUnexpected(name)) {
			mm.Unexpected = append(mm.Unexpected, name)
		}
	}
	if len(mm.Missing)+len(mm.Unexpected)+len(mm.Mismatched) > 0 {
		sort.Strings(mm.Missing)
		sort.Strings(mm.Unexpected)
		sort.Strings(mm.Mismatched)
		return mm
	}
	return torchrt.Pin(func() error {
		if _, err := torchrt.SetGradEnabled(false); err != nil {
			return err
		}
		for name, v := range vars {
			t, ok := file[name]
			if !ok {
				continue
			}
			src, err := t.Torch()
			if err != nil {
				return fmt.Errorf("safetensors %s: tensor %q: %w", path, name, err)
			}
			lib.AtCopy_(lib.Ctensor(v.Ctensor()), lib.Ctensor(src.Ctensor()))
			src.MustDrop()
			if err := ts.TorchErr(); err != nil {
				return fmt.Errorf("safetensors %s: copy into %q: %w", path, name, err)
			}
		}
		return nil
	})
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

// Torch makes a CPU libtorch tensor holding a copy of t; the caller owns it.
func (t Tensor) Torch() (*ts.Tensor, error) {
	dt := toGotch[t.DType]
	if t.Numel() == 0 {
		return ts.Zeros(t.Shape, dt, gotch.CPU)
	}
	shape := t.Shape
	if len(shape) == 0 {
		shape = []int64{1}
	}
	x, err := ts.OfDataSize(t.Data, shape, dt)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 {
		return x.Squeeze(true)
	}
	return x, nil
}

// FromVarStore collects every variable of vs (parameters and buffers) as
// safetensors tensors.
func FromVarStore(vs *nn.VarStore) (*File, error) {
	defer runtime.KeepAlive(vs) // see Load
	f := &File{Tensors: map[string]Tensor{}}
	for name, v := range vs.Variables() {
		t, err := TensorOf(&v)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		f.Tensors[name] = t
	}
	return f, nil
}

// Save writes every variable of vs to path, with optional metadata.
func Save(vs *nn.VarStore, path string, metadata map[string]string) error {
	f, err := FromVarStore(vs)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	f.Metadata = metadata
	return WriteFile(path, f)
}

// TensorOf copies a libtorch tensor (on any device) into a Tensor.
func TensorOf(x *ts.Tensor) (Tensor, error) {
	name, ok := fromGotch(x.DType())
	if !ok {
		return Tensor{}, fmt.Errorf("dtype %v has no safetensors equivalent", x.DType())
	}
	shape, err := x.Size()
	if err != nil {
		return Tensor{}, err
	}
	t := Tensor{DType: name, Shape: shape}
	size := dtypeSizes[name]
	t.Data = make([]byte, t.Numel()*int64(size))
	if len(t.Data) == 0 {
		return t, nil
	}
	err = torchrt.Pin(func() error {
		lib.AtCopyData(lib.Ctensor(x.Ctensor()), unsafe.Pointer(&t.Data[0]), uint(t.Numel()), uint(size))
		return ts.TorchErr()
	})
	if err != nil {
		return Tensor{}, err
	}
	return t, nil
}
