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
	"os"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/dicom"
)

// ErrEmptyFile is returned for a zero-byte image file.
var ErrEmptyFile = errors.New("empty file")

// DecodeFile reads and decodes the image at path. JPEGs are decoded at full
// size: Go's image/jpeg has no reduced-scale (DCT-domain) decoding, so for
// large originals (MIMIC-CXR-JPG's 2500 x 3000) prepare a cache of
// pre-resized copies once (plugins/datasets/prepare, `convirt data
// prepare`) and pass it as Options.Cache.
func DecodeFile(path string) (augment.Gray, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return augment.Gray{}, err
	}
	g, err := Decode(data)
	if err != nil {
		return augment.Gray{}, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Decode decodes JPEG, PNG or DICOM bytes (recognised by content) to a
// grayscale image in [0,1].
func Decode(data []byte) (augment.Gray, error) {
	switch {
	case len(data) == 0:
		return augment.Gray{}, ErrEmptyFile
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		im, err := dicom.Decode(data)
		if err != nil {
			return augment.Gray{}, err
		}
		return augment.Gray{W: im.Columns, H: im.Rows, Pix: im.Gray()}, nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return augment.Gray{}, fmt.Errorf("jpeg: %w", err)
		}
		return fromImage(img), nil
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return augment.Gray{}, fmt.Errorf("png: %w", err)
		}
		return fromImage(img), nil
	}
	return augment.Gray{}, errors.New("unknown image format (want JPEG, PNG or DICOM)")
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
