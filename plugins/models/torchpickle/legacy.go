package torchpickle

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// PyTorch before 1.6 wrote torch.save files as a sequence (serialization.py,
// _legacy_save): pickles of the magic number, the protocol version and the
// system's sizes; the pickle of the object, whose storages are persistent ids
// ("storage", StorageClass, key, location, numel, view_metadata); a pickle of
// the sorted storage keys; then each storage in that order, its element count
// as a little-endian int64 and its bytes. libtorch reads only the zip archive
// (Python's own torch.load reads both), so legacyToZip repacks the object's
// pickle and the storages into the archive torch.save writes today, for the
// same unpickler to read.

// elementSizes are the bytes per element of the storage classes a state dict
// holds.
var elementSizes = map[string]int64{
	"torch\nDoubleStorage\n": 8, "torch\nFloatStorage\n": 4, "torch\nHalfStorage\n": 2, "torch\nBFloat16Storage\n": 2,
	"torch\nLongStorage\n": 8, "torch\nIntStorage\n": 4, "torch\nShortStorage\n": 2, "torch\nCharStorage\n": 1,
	"torch\nByteStorage\n": 1, "torch\nBoolStorage\n": 1,
}

// storageRef is what a persistent id says of one storage.
type storageRef struct {
	elem, numel int64
}

// legacyToZip repacks the pre-1.6 torch.save file b as a zip archive.
func legacyToZip(b []byte) ([]byte, error) {
	pos := 0
	for i := range 3 { // magic number, protocol version, system info
		n, _, err := scanPickle(b[pos:], nil)
		if err != nil {
			return nil, fmt.Errorf("legacy header pickle %d: %w", i+1, err)
		}
		pos += n
	}
	refs := map[string]storageRef{}
	n, _, err := scanPickle(b[pos:], func(pid []any) error {
		if len(pid) < 5 || pid[0] != "storage" {
			return fmt.Errorf("persistent id %v is not a storage", pid)
		}
		class, _ := pid[1].(global)
		key, _ := pid[2].(string)
		numel, ok := pid[4].(int64)
		elem := elementSizes[string(class)]
		if elem == 0 || key == "" || !ok || numel < 0 {
			return fmt.Errorf("storage %q of class %q: not one of the storages a state dict holds", key, class)
		}
		if len(pid) > 5 && pid[5] != nil {
			return fmt.Errorf("storage %q is a view of another storage, which this reader does not rebuild", key)
		}
		refs[key] = storageRef{elem: elem, numel: numel}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("legacy object pickle: %w", err)
	}
	object := b[pos : pos+n]
	pos += n
	n, keys, err := scanPickle(b[pos:], nil)
	if err != nil {
		return nil, fmt.Errorf("legacy storage keys: %w", err)
	}
	pos += n
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	put := func(name string, data []byte) error {
		w, err := z.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	if err := put("data.pkl", object); err != nil {
		return nil, err
	}
	for _, key := range keys {
		ref, ok := refs[key]
		if !ok {
			return nil, fmt.Errorf("legacy storage %q is not referred to by the object", key)
		}
		if len(b)-pos < 8 {
			return nil, fmt.Errorf("legacy storage %q: the file ends before it", key)
		}
		numel := int64(binary.LittleEndian.Uint64(b[pos:]))
		size := numel * ref.elem
		if numel != ref.numel || numel < 0 || size > int64(len(b)-pos-8) {
			return nil, fmt.Errorf("legacy storage %q: %d elements of %d bytes at byte %d, the object says %d, the file has %d bytes left", key, numel, ref.elem, pos, ref.numel, len(b)-pos-8)
		}
		if err := put("data/"+key, b[pos+8:pos+8+int(size)]); err != nil {
			return nil, err
		}
		pos += 8 + int(size)
	}
	if pos != len(b) {
		return nil, fmt.Errorf("legacy file: %d stray bytes after the storages", len(b)-pos)
	}
	if err := put("version", []byte("3\n")); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// global is a GLOBAL opcode's argument, "module\nname\n".
type global string

// mark and opaque stand on scanPickle's stack for a MARK and for a value it
// does not track.
type (
	mark   struct{}
	opaque struct{}
)

// scanPickle walks the pickle at the start of p to its STOP, tracking the
// values persistent ids are made of (strings, ints, None, globals, tuples,
// through the memo), and calls onPID with each persistent id. It returns the
// pickle's length and its strings in order (a list of keys' elements).
func scanPickle(p []byte, onPID func([]any) error) (int, []string, error) {
	var stack []any
	var strs []string
	memo := map[string]any{}
	popMark := func(at int) ([]any, error) {
		i := len(stack) - 1
		for i >= 0 && stack[i] != (mark{}) {
			i--
		}
		if i < 0 {
			return nil, fmt.Errorf("pickle: byte %d: no MARK on the stack", at)
		}
		items := slices.Clone(stack[i+1:])
		stack = stack[:i]
		return items, nil
	}
	for pos := 0; pos < len(p); {
		at := pos
		op, arg, next, err := readOp(p, pos)
		if err != nil {
			return 0, nil, err
		}
		pos = next
		a := opcodes[op]
		var v any = opaque{}
		switch {
		case op == '(':
			v = mark{}
		case op == 'X' || op == 'U' || op == '\x8c' || op == 'T':
			s := string(arg[a.prefix:])
			strs = append(strs, s)
			v = s
		case op == opGlobal:
			v = global(arg)
		case op == 'K':
			v = int64(arg[0])
		case op == 'M':
			v = int64(binary.LittleEndian.Uint16(arg))
		case op == 'J':
			v = int64(int32(binary.LittleEndian.Uint32(arg)))
		case op == '\x8a':
			le := slices.Clone(arg[1:])
			slices.Reverse(le)
			x := new(big.Int).SetBytes(le)
			if len(le) > 0 && le[0]&0x80 != 0 {
				x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(le))))
			}
			if x.IsInt64() {
				v = x.Int64()
			} // else opaque: the magic number, not a size
		case op == 'N':
			v = nil
		case memoPut[op]:
			if len(stack) == 0 {
				return 0, nil, fmt.Errorf("pickle: byte %d: memo store from an empty stack", at)
			}
			memo[memoKey(op, arg, len(memo))] = stack[len(stack)-1]
			continue
		case memoGet[op]:
			x, ok := memo[memoKey(op, arg, 0)]
			if !ok {
				return 0, nil, fmt.Errorf("pickle: byte %d: memo entry not set", at)
			}
			if s, ok := x.(string); ok {
				strs = append(strs, s)
			}
			v = x
		case op == 't':
			items, err := popMark(at)
			if err != nil {
				return 0, nil, err
			}
			v = items
		case op == '\x85' || op == '\x86' || op == '\x87':
			k := int(op-'\x85') + 1
			if len(stack) < k {
				return 0, nil, fmt.Errorf("pickle: byte %d: stack underflow", at)
			}
			v = slices.Clone(stack[len(stack)-k:])
			stack = stack[:len(stack)-k]
		case op == 'Q':
			if len(stack) == 0 {
				return 0, nil, fmt.Errorf("pickle: byte %d: stack underflow", at)
			}
			pid, _ := stack[len(stack)-1].([]any)
			stack = stack[:len(stack)-1]
			if onPID == nil {
				return 0, nil, fmt.Errorf("pickle: byte %d: unexpected persistent id", at)
			}
			if err := onPID(pid); err != nil {
				return 0, nil, err
			}
		case op == opStop:
			return pos, strs, nil
		default:
			e := effects[op]
			if e.toMark {
				if _, err := popMark(at); err != nil {
					return 0, nil, err
				}
			} else if len(stack) < e.pop {
				return 0, nil, fmt.Errorf("pickle: byte %d: stack underflow", at)
			} else {
				stack = stack[:len(stack)-e.pop]
			}
			if e.push == 0 {
				continue
			}
		}
		stack = append(stack, v)
	}
	return 0, nil, errors.New("pickle: no STOP opcode before the end")
}
