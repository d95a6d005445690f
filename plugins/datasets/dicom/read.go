package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const maxDepth = 16

// element is one parsed data element.
type element struct {
	vr        string
	value     []byte   // native value (nil for sequences and encapsulated data)
	fragments [][]byte // encapsulated pixel data fragments, offset table first
}

type parser struct {
	data      []byte
	pos       int
	order     binary.ByteOrder
	explicit  bool
	elems     map[tag]*element
	maxPixels int
}

// Read parses a DICOM file from r and decodes its first frame, refusing
// images of more than DefaultMaxPixels pixels.
func Read(r io.Reader) (*Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<31))
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	return Decode(data)
}

// Decode parses a DICOM file held in memory and decodes its first frame,
// refusing images of more than DefaultMaxPixels pixels.
func Decode(data []byte) (*Image, error) { return DecodeMax(data, DefaultMaxPixels) }

// DecodeMax is Decode with a pixel limit: an image whose Rows x Columns,
// or whose encapsulated JPEG's frame header, declares more than maxPixels
// pixels is refused with a *TooLargeError before its pixels are allocated
// (maxPixels <= 0 means DefaultMaxPixels).
func DecodeMax(data []byte, maxPixels int) (*Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	p := &parser{data: data, order: binary.LittleEndian, explicit: true, elems: map[tag]*element{}, maxPixels: maxPixels}
	switch {
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		p.pos = 132
	case len(data) >= 8 && (binary.LittleEndian.Uint16(data) == 0x0002 || binary.LittleEndian.Uint16(data) == 0x0008):
		// No preamble: a bare data set; the meta group may be missing.
	default:
		return nil, ErrNotDICOM
	}
	// File meta information: always explicit VR little endian.
	for p.pos+4 <= len(p.data) && binary.LittleEndian.Uint16(p.data[p.pos:]) == 0x0002 {
		if err := p.element(0); err != nil {
			return nil, fmt.Errorf("dicom: meta group: %w", err)
		}
	}
	ts := ImplicitVRLittleEndian
	if e := p.elems[tagTransferSyntax]; e != nil {
		ts = strings.TrimRight(string(e.value), "\x00 ")
	} else if p.pos+6 <= len(p.data) && isVR(p.data[p.pos+4:p.pos+6]) {
		ts = ExplicitVRLittleEndian
	}
	switch ts {
	case ImplicitVRLittleEndian:
		p.explicit = false
	case ExplicitVRLittleEndian, JPEGBaseline:
	case ExplicitVRBigEndian:
		p.order = binary.BigEndian
	case DeflatedExplicitVRLE:
		raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(p.data[p.pos:])), 1<<31))
		if err != nil {
			return nil, fmt.Errorf("dicom: inflating data set: %w", err)
		}
		p.data, p.pos = raw, 0
	default:
		return nil, fmt.Errorf("%w: transfer syntax %s", ErrUnsupported, ts)
	}
	for p.pos < len(p.data) {
		if err := p.element(0); err != nil {
			return nil, fmt.Errorf("dicom: at byte %d: %w", p.pos, err)
		}
	}
	return p.image(ts)
}

func isVR(b []byte) bool {
	return len(b) == 2 && b[0] >= 'A' && b[0] <= 'Z' && b[1] >= 'A' && b[1] <= 'Z'
}

func (p *parser) need(n int) error {
	if n < 0 || p.pos+n > len(p.data) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (p *parser) u16() uint16 { v := p.order.Uint16(p.data[p.pos:]); p.pos += 2; return v }
func (p *parser) u32() uint32 { v := p.order.Uint32(p.data[p.pos:]); p.pos += 4; return v }

// header reads a tag, VR and length.
func (p *parser) header() (t tag, vr string, length uint32, err error) {
	if err := p.need(8); err != nil {
		return 0, "", 0, err
	}
	g, e := p.u16(), p.u16()
	t = mk(g, e)
	if g == 0xFFFE { // items and delimiters never carry a VR
		return t, "", p.u32(), nil
	}
	explicit := p.explicit || g == 0x0002
	if !explicit {
		return t, implicitVR[t], p.u32(), nil
	}
	vr = string(p.data[p.pos : p.pos+2])
	p.pos += 2
	if !isVR([]byte(vr)) {
		return 0, "", 0, fmt.Errorf("tag (%04X,%04X): invalid VR %q", g, e, vr)
	}
	if longVR[vr] {
		if err := p.need(6); err != nil {
			return 0, "", 0, err
		}
		p.pos += 2
		return t, vr, p.u32(), nil
	}
	return t, vr, uint32(p.u16()), nil
}

// element reads one data element at depth (0 = top level, recorded).
func (p *parser) element(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("sequences nested deeper than %d", maxDepth)
	}
	t, vr, length, err := p.header()
	if err != nil {
		return err
	}
	if length == 0xFFFFFFFF {
		if t == tagPixelData && depth == 0 {
			frags, err := p.fragments()
			if err != nil {
				return fmt.Errorf("encapsulated pixel data: %w", err)
			}
			p.elems[t] = &element{vr: vr, fragments: frags}
			return nil
		}
		return p.skipSequence(depth+1, vr == "UN")
	}
	if err := p.need(int(length)); err != nil {
		return fmt.Errorf("tag (%04X,%04X): length %d past end of data", uint32(t)>>16, uint32(t)&0xFFFF, length)
	}
	val := p.data[p.pos : p.pos+int(length)]
	p.pos += int(length)
	if depth == 0 {
		p.elems[t] = &element{vr: vr, value: val}
	}
	return nil
}

// skipSequence skips items up to the sequence delimiter. Items of undefined
// length are parsed element by element; a UN sequence is implicit VR.
func (p *parser) skipSequence(depth int, implicit bool) error {
	saved := p.explicit
	if implicit {
		p.explicit = false
	}
	defer func() { p.explicit = saved }()
	for {
		t, _, length, err := p.header()
		if err != nil {
			return err
		}
		switch t {
		case tagSeqDelim:
			return nil
		case tagItem:
			if length != 0xFFFFFFFF {
				if err := p.need(int(length)); err != nil {
					return err
				}
				p.pos += int(length)
				continue
			}
			for {
				if err := p.need(4); err != nil {
					return err
				}
				if tag(uint32(p.order.Uint16(p.data[p.pos:]))<<16|uint32(p.order.Uint16(p.data[p.pos+2:]))) == tagItemDelim {
					p.pos += 8
					break
				}
				if err := p.element(depth); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unexpected tag %08X in sequence", uint32(t))
		}
	}
}

// fragments reads the items of encapsulated pixel data.
func (p *parser) fragments() ([][]byte, error) {
	var out [][]byte
	for {
		t, _, length, err := p.header()
		if err != nil {
			return nil, err
		}
		switch t {
		case tagSeqDelim:
			return out, nil
		case tagItem:
			if err := p.need(int(length)); err != nil || length == 0xFFFFFFFF {
				return nil, io.ErrUnexpectedEOF
			}
			out = append(out, p.data[p.pos:p.pos+int(length)])
			p.pos += int(length)
		default:
			return nil, fmt.Errorf("unexpected tag %08X among fragments", uint32(t))
		}
	}
}

func (p *parser) uint(t tag, def int) (int, error) {
	e := p.elems[t]
	if e == nil {
		return def, nil
	}
	switch len(e.value) {
	case 2:
		return int(p.order.Uint16(e.value)), nil
	case 4:
		return int(p.order.Uint32(e.value)), nil
	}
	return 0, fmt.Errorf("tag (%04X,%04X): %d-byte value, want a US", uint32(t)>>16, uint32(t)&0xFFFF, len(e.value))
}

func (p *parser) str(t tag) string {
	if e := p.elems[t]; e != nil {
		return strings.Trim(string(e.value), "\x00 ")
	}
	return ""
}

func (p *parser) float(t tag, def float64) float64 {
	s := p.str(t)
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		s = s[:i]
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return v
	}
	return def
}
