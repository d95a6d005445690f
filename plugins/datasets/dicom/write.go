package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strconv"
)

// WriteOptions say how to encode.
type WriteOptions struct {
	// TransferSyntax is one of TransferSyntaxes (default explicit VR LE).
	TransferSyntax string
	// PixelVR is "OB" or "OW" for native data (default: OB for 8 bits, OW
	// for 16).
	PixelVR string
	// SOPInstanceUID identifies the instance (default derived from the
	// patient id).
	SOPInstanceUID string
	// JPEGQuality for JPEGBaseline (default 95).
	JPEGQuality int
}

const secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"

// Write encodes im as a DICOM Part 10 file. JPEGBaseline needs an 8-bit
// unsigned image. Every file carries a small sequence of undefined length
// (ProcedureCodeSequence) so readers exercise sequence skipping.
func Write(w io.Writer, im *Image, opt WriteOptions) error {
	ts := opt.TransferSyntax
	if ts == "" {
		ts = ExplicitVRLittleEndian
	}
	if im.Rows <= 0 || im.Columns <= 0 || len(im.Pixels) != im.Rows*im.Columns {
		return fmt.Errorf("dicom: write: %d pixels for %d x %d", len(im.Pixels), im.Rows, im.Columns)
	}
	if im.BitsAllocated != 8 && im.BitsAllocated != 16 {
		return fmt.Errorf("dicom: write: BitsAllocated %d", im.BitsAllocated)
	}
	uid := opt.SOPInstanceUID
	if uid == "" {
		uid = "1.2.826.0.1.3680043.10.1." + strconv.FormatUint(fnv(im.PatientID), 10)
	}
	var meta bytes.Buffer
	m := &enc{buf: &meta, order: binary.LittleEndian, explicit: true}
	m.elem(mk(2, 1), "OB", []byte{0, 1})
	m.str(mk(2, 2), "UI", secondaryCapture)
	m.str(mk(2, 3), "UI", uid)
	m.str(mk(2, 0x10), "UI", ts)
	m.str(mk(2, 0x12), "UI", "1.2.826.0.1.3680043.10.1")
	var head bytes.Buffer
	head.Write(make([]byte, 128))
	head.WriteString("DICM")
	h := &enc{buf: &head, order: binary.LittleEndian, explicit: true}
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, uint32(meta.Len()))
	h.elem(mk(2, 0), "UL", gl)
	head.Write(meta.Bytes())

	var body bytes.Buffer
	d := &enc{buf: &body, order: binary.LittleEndian, explicit: ts != ImplicitVRLittleEndian}
	if ts == ExplicitVRBigEndian {
		d.order = binary.BigEndian
	}
	d.str(mk(8, 0x16), "UI", secondaryCapture)
	d.str(mk(8, 0x18), "UI", uid)
	d.str(mk(8, 0x60), "CS", "CR")
	d.sequence(mk(8, 0x1032), mk(8, 0x0100), "SH", "CXR")
	d.str(mk(0x10, 0x10), "PN", "Anonymous")
	d.str(mk(0x10, 0x20), "LO", im.PatientID)
	photo := im.Photometric
	if photo == "" {
		photo = "MONOCHROME2"
	}
	bitsStored := im.BitsStored
	if bitsStored == 0 {
		bitsStored = im.BitsAllocated
	}
	d.us(tagSamples, 1)
	d.str(tagPhotometric, "CS", photo)
	d.us(tagRows, im.Rows)
	d.us(tagColumns, im.Columns)
	d.us(tagBitsAllocated, im.BitsAllocated)
	d.us(tagBitsStored, bitsStored)
	d.us(mk(0x28, 0x102), bitsStored-1)
	rep := 0
	if im.Signed {
		rep = 1
	}
	d.us(tagPixelRep, rep)
	if ts == JPEGBaseline {
		if err := d.jpeg(im, opt.JPEGQuality); err != nil {
			return err
		}
	} else {
		d.native(im, opt.PixelVR)
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	if ts == DeflatedExplicitVRLE {
		fw, err := flate.NewWriter(w, flate.DefaultCompression)
		if err != nil {
			return err
		}
		if _, err := fw.Write(body.Bytes()); err != nil {
			return err
		}
		return fw.Close()
	}
	_, err := w.Write(body.Bytes())
	return err
}

type enc struct {
	buf      *bytes.Buffer
	order    binary.ByteOrder
	explicit bool
}

func (e *enc) tag(t tag) {
	var b [4]byte
	e.order.PutUint16(b[:], uint16(t>>16))
	e.order.PutUint16(b[2:], uint16(t))
	e.buf.Write(b[:])
}

func (e *enc) u32(v uint32) { var b [4]byte; e.order.PutUint32(b[:], v); e.buf.Write(b[:]) }

// head writes tag, VR and length.
func (e *enc) head(t tag, vr string, n uint32) {
	e.tag(t)
	if !e.explicit || t>>16 == 0xFFFE {
		e.u32(n)
		return
	}
	e.buf.WriteString(vr)
	if longVR[vr] {
		e.buf.Write([]byte{0, 0})
		e.u32(n)
		return
	}
	var b [2]byte
	e.order.PutUint16(b[:], uint16(n))
	e.buf.Write(b[:])
}

func (e *enc) elem(t tag, vr string, v []byte) {
	e.head(t, vr, uint32(len(v)))
	e.buf.Write(v)
}

// str writes a string value padded to even length (UI with NUL, others
// with a space).
func (e *enc) str(t tag, vr, s string) {
	if len(s)%2 == 1 {
		if vr == "UI" {
			s += "\x00"
		} else {
			s += " "
		}
	}
	e.elem(t, vr, []byte(s))
}

func (e *enc) us(t tag, v int) {
	b := make([]byte, 2)
	e.order.PutUint16(b, uint16(v))
	e.elem(t, "US", b)
}

// sequence writes an undefined-length sequence holding one undefined-length
// item with one string element.
func (e *enc) sequence(t, inner tag, vr, s string) {
	e.head(t, "SQ", 0xFFFFFFFF)
	e.head(tagItem, "", 0xFFFFFFFF)
	e.str(inner, vr, s)
	e.head(tagItemDelim, "", 0)
	e.head(tagSeqDelim, "", 0)
}

func (e *enc) native(im *Image, vr string) {
	if vr == "" {
		vr = "OB"
		if im.BitsAllocated == 16 {
			vr = "OW"
		}
	}
	var data []byte
	if im.BitsAllocated == 8 {
		data = make([]byte, (len(im.Pixels)+1)&^1)
		for i, v := range im.Pixels {
			data[i] = byte(v)
		}
		if vr == "OW" && e.order == binary.BigEndian {
			for i := 0; i < len(data); i += 2 {
				data[i], data[i+1] = data[i+1], data[i]
			}
		}
	} else {
		data = make([]byte, 2*len(im.Pixels))
		for i, v := range im.Pixels {
			e.order.PutUint16(data[2*i:], uint16(v))
		}
	}
	e.elem(tagPixelData, vr, data)
}

func (e *enc) jpeg(im *Image, quality int) error {
	if im.BitsAllocated != 8 || im.Signed {
		return fmt.Errorf("dicom: write: JPEG baseline needs 8-bit unsigned pixels")
	}
	if quality == 0 {
		quality = 95
	}
	g := image.NewGray(image.Rect(0, 0, im.Columns, im.Rows))
	for i, v := range im.Pixels {
		g.Pix[i] = byte(v)
	}
	var j bytes.Buffer
	if err := jpeg.Encode(&j, g, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("dicom: write: %w", err)
	}
	if j.Len()%2 == 1 {
		j.WriteByte(0)
	}
	e.head(tagPixelData, "OB", 0xFFFFFFFF)
	e.head(tagItem, "", 0) // empty basic offset table
	e.head(tagItem, "", uint32(j.Len()))
	e.buf.Write(j.Bytes())
	e.head(tagSeqDelim, "", 0)
	return nil
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
