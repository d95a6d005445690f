//go:build linux

package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/dicom"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// hugePNG returns a PNG of a few dozen bytes whose header declares w x h
// 8-bit gray pixels: a real 1 x 1 image with IHDR rewritten (and its CRC
// recomputed). A decoder that trusts the header allocates w*h bytes before
// it notices the pixel data is short.
func hugePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if string(b[12:16]) != "IHDR" {
		t.Fatalf("no IHDR at byte 12: % x", b[:16])
	}
	binary.BigEndian.PutUint32(b[16:], uint32(w))
	binary.BigEndian.PutUint32(b[20:], uint32(h))
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// hugeJPEG returns a small baseline JPEG whose SOF0 declares w x h pixels
// (at most 65535 each): a real 8 x 8 image with its frame header rewritten.
func hugeJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return resizeSOF0(t, buf.Bytes(), w, h)
}

// resizeSOF0 rewrites the first baseline JPEG frame header (SOF0) in b to
// declare w x h pixels.
func resizeSOF0(t *testing.T, b []byte, w, h int) []byte {
	t.Helper()
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(b[i+5:], uint16(h))
	binary.BigEndian.PutUint16(b[i+7:], uint16(w))
	return b
}

// hugeDICOM returns a JPEG-baseline DICOM whose header says 8 x 8 but whose
// encapsulated JPEG declares w x h pixels.
func hugeDICOM(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	im := &dicom.Image{Rows: 8, Columns: 8, BitsAllocated: 8, Pixels: make([]int32, 64)}
	if err := dicom.Write(&buf, im, dicom.WriteOptions{TransferSyntax: dicom.JPEGBaseline}); err != nil {
		t.Fatal(err)
	}
	return resizeSOF0(t, buf.Bytes(), w, h)
}

// tallDICOM returns a native (explicit VR little endian) DICOM whose Rows
// and Columns declare w x h pixels (at most 65535 each).
func tallDICOM(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	im := &dicom.Image{Rows: 8, Columns: 8, BitsAllocated: 8, Pixels: make([]int32, 64)}
	if err := dicom.Write(&buf, im, dicom.WriteOptions{TransferSyntax: dicom.ExplicitVRLittleEndian}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, e := range []struct {
		elem byte
		v    int
	}{{0x10, h}, {0x11, w}} {
		i := bytes.Index(b, []byte{0x28, 0x00, e.elem, 0x00, 'U', 'S', 0x02, 0x00})
		if i < 0 {
			t.Fatalf("no (0028,00%02x) element", e.elem)
		}
		binary.LittleEndian.PutUint16(b[i+8:], uint16(e.v))
	}
	return b
}

// childEnv names the image a re-executed test binary decodes under a
// memory cap (see TestDecodeUnderMemoryCap).
const childEnv = "CONVIRT_TEST_DECODE_CAPPED"

// addressCap is the address space the child may add to what it has mapped
// when it starts: enough for the decoder, far too little for any of the
// images' declared pixels (3.6 GB and more).
const addressCap = 768 << 20

// TestDecodeChild is the child of TestDecodeUnderMemoryCap: it caps its own
// address space, decodes the file named by childEnv with DecodeFile and
// prints the result. Without the variable it does nothing.
func TestDecodeChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("child of TestDecodeUnderMemoryCap")
	}
	if err := sdktest.CapMemory(addressCap); err != nil {
		t.Fatal(err)
	}
	g, err := DecodeFile(path)
	fmt.Printf("decoded %dx%d err=%v\n", g.W, g.H, err)
}

// TestDecodeUnderMemoryCap decodes images that are small on disk but
// declare billions of pixels, each in a child process whose address space
// is capped: a decoder that allocates from the header before checking it
// dies (fatal error: out of memory) and fails the test, instead of the
// machine. The limit must refuse them from the header, naming the file,
// the limit and max_pixels.
func TestDecodeUnderMemoryCap(t *testing.T) {
	dir := t.TempDir()
	limit := []string{"60000 x 60000", strconv.Itoa(DefaultMaxPixels), "max_pixels"}
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"wide.png", hugePNG(t, 60000, 60000), limit},
		{"wide.jpg", hugeJPEG(t, 60000, 60000), limit},
		{"tall.dcm", tallDICOM(t, 60000, 60000), limit},
		// The DICOM header is within the limit; its JPEG is not, and
		// disagrees with it.
		{"inner.dcm", hugeDICOM(t, 60000, 60000), []string{"JPEG is 60000x60000, header says 8x8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestDecodeChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("decoding %s (%d bytes) under a %d MiB cap: %v\n%s", c.name, len(c.data), addressCap>>20, err, head(out))
			}
			for _, want := range append([]string{path}, c.want...) {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("error lacks %q:\n%s", want, head(out))
				}
			}
		})
	}
}

// head shortens a child's output (a runtime crash dumps every goroutine
// after the line that matters).
func head(b []byte) string {
	if len(b) > 1500 {
		b = b[:1500]
	}
	return string(b)
}

// TestPixelLimitIsRaisable checks the limit against ordinary images: one
// pixel over it is refused with a PixelLimitError, and the limit can be
// raised.
func TestPixelLimitIsRaisable(t *testing.T) {
	exs := writeImages(t) // 40 x 30: a.jpg, b.png, c.dcm
	for _, ex := range exs[:3] {
		_, err := DecodeFileLimit(ex.ImagePath, 40*30-1)
		var pe *PixelLimitError
		if !errors.As(err, &pe) || pe.Width != 40 || pe.Height != 30 || pe.Limit != 40*30-1 {
			t.Errorf("%s at limit %d: err = %v", ex.ID, 40*30-1, err)
		}
		if err == nil || !strings.Contains(err.Error(), ex.ImagePath) || !strings.Contains(err.Error(), "max_pixels") {
			t.Errorf("%s: error %v does not name the file and max_pixels", ex.ID, err)
		}
		g, err := DecodeFileLimit(ex.ImagePath, 40*30)
		if err != nil || g.W != 40 || g.H != 30 {
			t.Errorf("%s at limit %d: %dx%d, %v", ex.ID, 40*30, g.W, g.H, err)
		}
	}
	o := Options{Size: 8, MaxPixels: 100}
	if _, err := Load(exs[1], o); err == nil || !strings.Contains(err.Error(), "max_pixels") {
		t.Errorf("Load ignores Options.MaxPixels: %v", err)
	}
}

// TestDecodeRefusesSpecialFiles checks that a FIFO in a dataset is refused
// instead of blocking the loader forever on its open.
func TestDecodeRefusesSpecialFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.jpg")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, err := DecodeFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
}
