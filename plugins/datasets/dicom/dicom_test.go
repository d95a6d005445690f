package dicom

import (
	"bytes"
	"errors"
	"testing"
)

func testImage(bits int, signed bool) *Image {
	im := &Image{Rows: 12, Columns: 10, BitsAllocated: bits, BitsStored: bits, Signed: signed,
		Photometric: "MONOCHROME2", PatientID: "p1"}
	if bits == 16 {
		im.BitsStored = 12
	}
	im.Pixels = make([]int32, im.Rows*im.Columns)
	for i := range im.Pixels {
		v := int32((i * 37) % (1 << uint(im.BitsStored)))
		if signed {
			v -= 1 << uint(im.BitsStored-1)
		}
		im.Pixels[i] = v
	}
	return im
}

func roundTrip(t *testing.T, im *Image, opt WriteOptions) *Image {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, im, opt); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", opt.TransferSyntax, err)
	}
	if got.Rows != im.Rows || got.Columns != im.Columns || got.PatientID != im.PatientID {
		t.Fatalf("%s: header %+v", opt.TransferSyntax, got)
	}
	return got
}

func TestRoundTripNative(t *testing.T) {
	for _, ts := range []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLE, ExplicitVRBigEndian} {
		for _, c := range []struct {
			bits   int
			signed bool
			vr     string
		}{{8, false, "OB"}, {8, false, "OW"}, {16, false, "OW"}, {16, true, "OW"}} {
			im := testImage(c.bits, c.signed)
			got := roundTrip(t, im, WriteOptions{TransferSyntax: ts, PixelVR: c.vr})
			if got.TransferSyntax != ts {
				t.Fatalf("syntax %s, want %s", got.TransferSyntax, ts)
			}
			for i := range im.Pixels {
				if got.Pixels[i] != im.Pixels[i] {
					t.Fatalf("%s %d-bit signed=%v %s: pixel %d = %d, want %d", ts, c.bits, c.signed, c.vr, i, got.Pixels[i], im.Pixels[i])
				}
			}
		}
	}
}

func TestRoundTripJPEG(t *testing.T) {
	im := testImage(8, false)
	for i := range im.Pixels { // smooth content so lossy JPEG stays close
		im.Pixels[i] = int32(20 * (i % im.Columns))
	}
	got := roundTrip(t, im, WriteOptions{TransferSyntax: JPEGBaseline, JPEGQuality: 100})
	for i := range im.Pixels {
		if d := got.Pixels[i] - im.Pixels[i]; d > 8 || d < -8 {
			t.Fatalf("pixel %d = %d, want ~%d", i, got.Pixels[i], im.Pixels[i])
		}
	}
	if err := Write(&bytes.Buffer{}, testImage(16, false), WriteOptions{TransferSyntax: JPEGBaseline}); err == nil {
		t.Fatal("16-bit JPEG baseline accepted")
	}
}

func TestGrayMonochrome1(t *testing.T) {
	im := &Image{Rows: 1, Columns: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME1",
		Pixels: []int32{0, 50, 100}, RescaleSlope: 1}
	g := roundTrip(t, im, WriteOptions{}).Gray()
	if g[0] != 1 || g[2] != 0 || g[1] != 0.5 {
		t.Fatalf("gray %v", g)
	}
}

func TestBadInputs(t *testing.T) {
	if _, err := Decode([]byte("hello")); !errors.Is(err, ErrNotDICOM) {
		t.Fatalf("not dicom: %v", err)
	}
	var buf bytes.Buffer
	Write(&buf, testImage(16, false), WriteOptions{})
	full := buf.Bytes()
	for _, n := range []int{140, 200, 300, len(full) - 10} {
		if _, err := Decode(full[:n]); err == nil {
			t.Fatalf("truncated at %d accepted", n)
		}
	}
	// No preamble: a bare explicit-LE data set without meta group.
	i := bytes.Index(full, []byte{0x08, 0x00, 0x16, 0x00})
	if im, err := Decode(full[i:]); err != nil || im.Rows != 12 {
		t.Fatalf("bare data set: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, ts := range TransferSyntaxes {
		var buf bytes.Buffer
		im := testImage(8, false)
		if err := Write(&buf, im, WriteOptions{TransferSyntax: ts}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("DICM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Decode(data)
		if err == nil && len(im.Pixels) != im.Rows*im.Columns {
			t.Fatalf("%d pixels for %dx%d", len(im.Pixels), im.Rows, im.Columns)
		}
	})
}
