package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/models/layers"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
)

func f32(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	in := &File{
		Tensors: map[string]Tensor{
			"a.weight": {DType: "F32", Shape: []int64{2, 2}, Data: f32(1, 2, 3, 4)},
			"b":        {DType: "I64", Shape: []int64{}, Data: make([]byte, 8)},
			"c":        {DType: "U8", Shape: []int64{3}, Data: []byte{7, 8, 9}},
		},
		Metadata: map[string]string{"format": "pt"},
	}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Errorf("header length %d not 8-aligned", n)
	}
	out, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.Metadata["format"] != "pt" || len(out.Tensors) != 3 {
		t.Fatalf("got %+v", out)
	}
	for name, want := range in.Tensors {
		got := out.Tensors[name]
		if got.DType != want.DType || !sameShape(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %+v want %+v", name, got, want)
		}
	}
}

func encode(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestParseErrors(t *testing.T) {
	cases := map[string][]byte{
		"short":         {1, 2},
		"header length": encode(`{}`, nil)[:9],
		"header:":       encode(`{"a":`, nil),
		"metadata":      encode(`{"__metadata__":{"k":1}}`, nil),
		"unknown field": encode(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, f32(1)),
		"outside":       encode(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, f32(1)),
		"dtype":         encode(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}`, f32(1)),
		"needs":         encode(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f32(1)),
		"negative":      encode(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32(1)),
		"overlap":       encode(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1, 2)),
		"cover":         encode(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1, 2)),
	}
	for want, b := range cases {
		_, err := Parse(b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v", want, err)
		}
	}
	if err := Write(&bytes.Buffer{}, &File{Tensors: map[string]Tensor{"a": {DType: "F32", Shape: []int64{2}, Data: f32(1)}}}); err == nil {
		t.Error("Write accepted a tensor whose data does not fit its shape")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.safetensors")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

func model(t *testing.T, out int64) *nn.VarStore {
	t.Helper()
	vs := nn.NewVarStore(gotch.CPU)
	if _, err := layers.NewLinear(vs.Root().Sub("fc"), 3, out, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := layers.NewBatchNorm2d(vs.Root().Sub("bn"), 2); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestVarStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	src := model(t, 2)
	if err := Save(src, path, map[string]string{"arch": "test"}); err != nil {
		t.Fatal(err)
	}
	dst := model(t, 2)
	if err := Load(dst, path, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	sv, dv := src.Variables(), dst.Variables()
	for name, a := range sv {
		b := dv[name]
		av, bv := a.MustView([]int64{-1}, false).Float64Values(true), b.MustView([]int64{-1}, false).Float64Values(true)
		for i := range av {
			if av[i] != bv[i] {
				t.Fatalf("%s differs after load: %v vs %v", name, av, bv)
			}
		}
	}
	runtime.KeepAlive(src)
	runtime.KeepAlive(dst)
}

func TestLoadMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	f, err := FromVarStore(model(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	delete(f.Tensors, "bn.running_var")
	f.Tensors["extra"] = Tensor{DType: "F32", Shape: []int64{1}, Data: f32(0)}
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	err = Load(model(t, 4), path, LoadOptions{})
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("want *MismatchError, got %v", err)
	}
	if len(mm.Missing) != 1 || mm.Missing[0] != "bn.running_var" ||
		len(mm.Unexpected) != 1 || mm.Unexpected[0] != "extra" ||
		len(mm.Mismatched) != 2 || !strings.Contains(err.Error(), path) {
		t.Errorf("wrong report: %v", err)
	}
	err = Load(model(t, 2), path, LoadOptions{
		AllowMissing:    func(n string) bool { return strings.HasSuffix(n, "running_var") },
		AllowUnexpected: func(n string) bool { return n == "extra" },
	})
	if err != nil {
		t.Errorf("allowed differences still fail: %v", err)
	}
	// A prefixed checkpoint loads with StripPrefix.
	pf := &File{Tensors: map[string]Tensor{}}
	for n, x := range f.Tensors {
		pf.Tensors["bert."+n] = x
	}
	if err := WriteFile(path, pf); err != nil {
		t.Fatal(err)
	}
	err = Load(model(t, 2), path, LoadOptions{StripPrefix: "bert.", AllowMissing: func(string) bool { return true }, AllowUnexpected: func(string) bool { return true }})
	if err != nil {
		t.Errorf("prefixed load: %v", err)
	}
}
