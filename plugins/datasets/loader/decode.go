// Package loader turns dataset examples into model inputs: it decodes JPEG,
// PNG and DICOM files to grayscale, resizes (shorter side then centre crop,
// or a direct resize), augments deterministically per (seed, epoch, sample
// ID), normalises, and assembles N x C x H x W float32 batches in parallel.
package loader

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/dicom"
)

// ErrEmptyFile is returned for a zero-byte image file.
var ErrEmptyFile = errors.New("empty file")

// DefaultMaxPixels is the default pixel limit of every format (the dataset
// option max_pixels): 8192 x 8192, the bound the DICOM reader always had. A
// decoded image takes about 5 to 12 bytes per pixel while it is converted
// (the decoder's own buffer plus the float32 copy), per decoding worker.
const DefaultMaxPixels = dicom.DefaultMaxPixels

// PixelLimitError refuses an image whose header declares more pixels than
// the limit; it is returned before any pixel is allocated.
type PixelLimitError struct {
	Format        string // "JPEG", "PNG" or "DICOM"
	Width, Height int
	Limit         int
}

func (e *PixelLimitError) Error() string {
	return fmt.Sprintf("%s of %d x %d = %d pixels is over the pixel limit of %d; raise the dataset option max_pixels to decode it",
		e.Format, e.Width, e.Height, e.Width*e.Height, e.Limit)
}

// DecodeFile reads and decodes the image at path with the default pixel
// limit (see DecodeFileLimit).
func DecodeFile(path string) (augment.Gray, error) { return DecodeFileLimit(path, DefaultMaxPixels) }

// DecodeFileLimit reads and decodes the image at path, refusing files that
// are not regular (a FIFO or device would block or never end) and images
// of more than maxPixels pixels (<= 0: DefaultMaxPixels). Errors name the
// path. JPEGs are decoded at full size: Go's image/jpeg has no
// reduced-scale (DCT-domain) decoding, so for large originals
// (MIMIC-CXR-JPG's 2500 x 3000) prepare a cache of pre-resized copies once
// (plugins/datasets/prepare, `convirt data prepare`) and pass it as
// Options.Cache.
func DecodeFileLimit(path string, maxPixels int) (augment.Gray, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return augment.Gray{}, err
	}
	if !fi.Mode().IsRegular() {
		return augment.Gray{}, fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return augment.Gray{}, err
	}
	g, err := DecodeLimit(data, maxPixels)
	if err != nil {
		return augment.Gray{}, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Decode decodes JPEG, PNG or DICOM bytes (recognised by content) to a
// grayscale image in [0,1], with the default pixel limit.
func Decode(data []byte) (augment.Gray, error) { return DecodeLimit(data, DefaultMaxPixels) }

// DecodeLimit is Decode with a pixel limit: the image's header is read
// first (image.DecodeConfig, or the DICOM header) and an image of more than
// maxPixels pixels (<= 0: DefaultMaxPixels) is refused with a
// *PixelLimitError before it is decoded.
func DecodeLimit(data []byte, maxPixels int) (augment.Gray, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	switch {
	case len(data) == 0:
		return augment.Gray{}, ErrEmptyFile
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		im, err := dicom.DecodeMax(data, maxPixels)
		var tl *dicom.TooLargeError
		if errors.As(err, &tl) {
			return augment.Gray{}, &PixelLimitError{Format: "DICOM", Width: tl.Width, Height: tl.Height, Limit: tl.Limit}
		}
		if err != nil {
			return augment.Gray{}, err
		}
		return augment.Gray{W: im.Columns, H: im.Rows, Pix: im.Gray()}, nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		return decodeImage("JPEG", data, maxPixels, jpeg.DecodeConfig, jpeg.Decode)
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return decodeImage("PNG", data, maxPixels, png.DecodeConfig, png.Decode)
	}
	return augment.Gray{}, errors.New("unknown image format (want JPEG, PNG or DICOM)")
}

// decodeImage checks the header's size against maxPixels, then decodes.
// Both decoders allocate from the header they check (a JPEG with a second
// frame header and a PNG whose IHDR is not first are refused).
func decodeImage(format string, data []byte, maxPixels int,
	config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (augment.Gray, error) {
	name := strings.ToLower(format)
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return augment.Gray{}, fmt.Errorf("%s: %w", name, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return augment.Gray{}, &PixelLimitError{Format: format, Width: cfg.Width, Height: cfg.Height, Limit: maxPixels}
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return augment.Gray{}, fmt.Errorf("%s: %w", name, err)
	}
	return fromImage(img), nil
}

// fromImage converts any image to grayscale floats, with fast paths for the
// gray types radiographs use.
func fromImage(img image.Image) augment.Gray {
	b := img.Bounds()
	g := augment.NewGray(b.Dx(), b.Dy())
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < g.H; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+g.W]
			for x, v := range row {
				g.Pix[y*g.W+x] = float32(v) / 255
			}
		}
	case *image.Gray16:
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				i := y*m.Stride + 2*x
				g.Pix[y*g.W+x] = float32(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1])) / 65535
			}
		}
	case *image.YCbCr:
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				g.Pix[y*g.W+x] = float32(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)]) / 255
			}
		}
	default:
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				c := color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				g.Pix[y*g.W+x] = float32(c.Y) / 65535
			}
		}
	}
	return g
}
