package dicom

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

// DefaultMaxPixels is Decode's bound on Rows*Columns (8192 x 8192), so that a
// corrupt or hostile header cannot exhaust memory; DecodeMax takes another.
const DefaultMaxPixels = 1 << 26

// TooLargeError refuses an image that declares more pixels than the limit.
// Width and Height come from the header that declared them (Columns and
// Rows, or the encapsulated JPEG's frame header).
type TooLargeError struct {
	Width, Height, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("dicom: %d x %d image (%d pixels) is over the pixel limit of %d", e.Width, e.Height, e.Width*e.Height, e.Limit)
}

// image assembles the Image from the parsed elements.
func (p *parser) image(ts string) (*Image, error) {
	im := &Image{TransferSyntax: ts, PatientID: p.str(tagPatientID), Photometric: p.str(tagPhotometric)}
	var err error
	fields := []struct {
		t   tag
		def int
		dst *int
	}{{tagRows, -1, &im.Rows}, {tagColumns, -1, &im.Columns}, {tagBitsAllocated, 8, &im.BitsAllocated}}
	for _, f := range fields {
		if *f.dst, err = p.uint(f.t, f.def); err != nil {
			return nil, err
		}
	}
	if im.Rows <= 0 || im.Columns <= 0 {
		return nil, fmt.Errorf("dicom: missing or zero Rows/Columns (%d x %d)", im.Rows, im.Columns)
	}
	if im.Rows*im.Columns > p.maxPixels {
		return nil, &TooLargeError{Width: im.Columns, Height: im.Rows, Limit: p.maxPixels}
	}
	if im.BitsStored, err = p.uint(tagBitsStored, im.BitsAllocated); err != nil {
		return nil, err
	}
	rep, err := p.uint(tagPixelRep, 0)
	if err != nil {
		return nil, err
	}
	im.Signed = rep == 1
	samples, err := p.uint(tagSamples, 1)
	if err != nil {
		return nil, err
	}
	if samples != 1 {
		return nil, fmt.Errorf("%w: %d samples per pixel", ErrUnsupported, samples)
	}
	if im.Photometric == "" {
		im.Photometric = "MONOCHROME2"
	}
	if im.Photometric != "MONOCHROME1" && im.Photometric != "MONOCHROME2" {
		return nil, fmt.Errorf("%w: photometric interpretation %s", ErrUnsupported, im.Photometric)
	}
	im.RescaleSlope = p.float(tagSlope, 1)
	if im.RescaleSlope == 0 {
		im.RescaleSlope = 1
	}
	im.RescaleIntercept = p.float(tagIntercept, 0)
	pd := p.elems[tagPixelData]
	if pd == nil {
		return nil, fmt.Errorf("dicom: no pixel data")
	}
	if pd.fragments != nil {
		return im, im.decodeJPEG(pd.fragments)
	}
	return im, im.decodeNative(pd, p)
}

func (im *Image) decodeNative(pd *element, p *parser) error {
	n := im.Rows * im.Columns
	if im.BitsStored <= 0 || im.BitsStored > im.BitsAllocated {
		return fmt.Errorf("dicom: BitsStored %d with BitsAllocated %d", im.BitsStored, im.BitsAllocated)
	}
	im.Pixels = make([]int32, n)
	switch im.BitsAllocated {
	case 8:
		v := pd.value
		if len(v) < n {
			return fmt.Errorf("dicom: pixel data has %d bytes, want %d", len(v), n)
		}
		if pd.vr == "OW" && p.order.Uint16([]byte{0, 1}) == 1 {
			// 8-bit samples in big-endian OW words are byte-swapped pairs.
			w := make([]byte, len(v)&^1)
			for i := 0; i+1 < len(w); i += 2 {
				w[i], w[i+1] = v[i+1], v[i]
			}
			v = w
		}
		for i := 0; i < n; i++ {
			im.Pixels[i] = im.extend(uint32(v[i]))
		}
	case 16:
		if len(pd.value) < 2*n {
			return fmt.Errorf("dicom: pixel data has %d bytes, want %d", len(pd.value), 2*n)
		}
		for i := 0; i < n; i++ {
			im.Pixels[i] = im.extend(uint32(p.order.Uint16(pd.value[2*i:])))
		}
	default:
		return fmt.Errorf("%w: BitsAllocated %d", ErrUnsupported, im.BitsAllocated)
	}
	return nil
}

// extend masks a stored value to BitsStored and sign-extends it if signed.
func (im *Image) extend(v uint32) int32 {
	v &= 1<<uint(im.BitsStored) - 1
	if im.Signed && v&(1<<uint(im.BitsStored-1)) != 0 {
		return int32(v) - int32(1<<uint(im.BitsStored))
	}
	return int32(v)
}

func (im *Image) decodeJPEG(frags [][]byte) error {
	if len(frags) < 2 {
		return fmt.Errorf("dicom: encapsulated pixel data has no fragments")
	}
	var buf bytes.Buffer
	for _, f := range frags[1:] { // frags[0] is the basic offset table
		buf.Write(f)
	}
	// The JPEG's own frame header decides what jpeg.Decode allocates: check
	// it against the DICOM header (already within the limit) first.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("dicom: JPEG pixel data: %w", err)
	}
	if cfg.Width != im.Columns || cfg.Height != im.Rows {
		return fmt.Errorf("dicom: JPEG is %dx%d, header says %dx%d", cfg.Width, cfg.Height, im.Columns, im.Rows)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		return fmt.Errorf("dicom: JPEG pixel data: %w", err)
	}
	b := img.Bounds()
	im.Pixels = make([]int32, im.Rows*im.Columns)
	g, ok := img.(*image.Gray)
	for y := 0; y < im.Rows; y++ {
		for x := 0; x < im.Columns; x++ {
			if ok {
				im.Pixels[y*im.Columns+x] = int32(g.Pix[y*g.Stride+x])
			} else {
				r, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				im.Pixels[y*im.Columns+x] = int32((299*r + 587*gg + 114*bb) / 1000 >> 8)
			}
		}
	}
	im.BitsAllocated, im.BitsStored, im.Signed = 8, 8, false
	return nil
}

// Gray returns the image as floats in [0,1], row-major, bright = dense
// (MONOCHROME1 is inverted), scaled from the min..max of the rescaled values.
func (im *Image) Gray() []float32 {
	out := make([]float32, len(im.Pixels))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range im.Pixels {
		f := float64(v)*im.RescaleSlope + im.RescaleIntercept
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	span := hi - lo
	for i, v := range im.Pixels {
		f := 0.0
		if span > 0 {
			f = (float64(v)*im.RescaleSlope + im.RescaleIntercept - lo) / span
		}
		if im.Photometric == "MONOCHROME1" {
			f = 1 - f
		}
		out[i] = float32(f)
	}
	return out
}
