// Package safetensors reads and writes the .safetensors format in pure Go and
// moves tensors between such files and a gotch nn.VarStore by name.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__"
// string map, then the data section, little-endian and C-contiguous.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation does.
const MaxHeaderSize = 100 << 20

// dtypeSizes maps each supported dtype to its element size in bytes.
var dtypeSizes = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

// Tensor is one named tensor: its dtype name (F32, I64, ...), shape and raw
// little-endian bytes.
type Tensor struct {
	DType string
	Shape []int64
	Data  []byte
}

// Numel is the number of elements the shape describes.
func (t Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t Tensor) validate() error {
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return fmt.Errorf("unsupported dtype %q", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	if want := t.Numel() * int64(size); int64(len(t.Data)) != want {
		return fmt.Errorf("%s%v needs %d bytes, has %d", t.DType, t.Shape, want, len(t.Data))
	}
	return nil
}

// File is the content of one .safetensors file.
type File struct {
	Tensors  map[string]Tensor
	Metadata map[string]string
}

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Parse decodes a whole file held in memory. The tensors' Data alias b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file of %d bytes is shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes) or the %d-byte limit", n, len(b), MaxHeaderSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	data := b[8+n:]
	f := &File{Tensors: make(map[string]Tensor, len(raw))}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("header: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e entry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("header: tensor %q: %w", name, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > int64(len(data)) {
			return nil, fmt.Errorf("tensor %q: data_offsets %v outside the %d-byte data section", name, e.Offsets, len(data))
		}
		t := Tensor{DType: e.DType, Shape: e.Shape, Data: data[e.Offsets[0]:e.Offsets[1]:e.Offsets[1]]}
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		f.Tensors[name] = t
		spans = append(spans, span{name, e.Offsets[0], e.Offsets[1]})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var pos int64
	for _, s := range spans {
		if s.begin != pos {
			return nil, fmt.Errorf("tensor %q: data starts at %d, want %d (overlap or hole)", s.name, s.begin, pos)
		}
		pos = s.end
	}
	if pos != int64(len(data)) {
		return nil, fmt.Errorf("data section has %d bytes, tensors cover %d", len(data), pos)
	}
	return f, nil
}

// ReadFile reads and parses path; errors name the file.
func ReadFile(path string) (*File, error) { return ReadWith(path, "safetensors", Parse) }

// ReadWith reads the file at path and parses it with parse, for a weights
// format (format names it in errors, with the file's path) that converts to
// a File.
func ReadWith(path, format string, parse func([]byte) (*File, error)) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", format, path, err)
	}
	return f, nil
}

// Write encodes f: tensors in name order, header padded with spaces to a
// multiple of 8 bytes so the data section is aligned.
func Write(w io.Writer, f *File) error {
	names := make([]string, 0, len(f.Tensors))
	for name := range f.Tensors {
		if name == "__metadata__" {
			return fmt.Errorf("tensor name %q is reserved", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	header := make(map[string]any, len(names)+1)
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	var off int64
	for _, name := range names {
		t := f.Tensors[name]
		if err := t.validate(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		end := off + int64(len(t.Data))
		header[name] = entry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, end}}
		off = end
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if pad := (8 - len(h)%8) % 8; pad > 0 {
		h = append(h, bytes.Repeat([]byte{' '}, pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := w.Write(f.Tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes f to path atomically (see plugins/sdk/atomicfile).
func WriteFile(path string, f *File) error {
	if err := atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error { return Write(w, f) }); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
