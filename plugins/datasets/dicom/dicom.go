// Package dicom reads and writes the subset of DICOM Part 10 files that
// radiograph datasets use: single-frame grayscale images with native pixel
// data (OB or OW; implicit and explicit VR little endian, explicit VR big
// endian, deflated explicit little endian) or JPEG-baseline encapsulated
// pixel data, MONOCHROME1 or MONOCHROME2, 8 or 16 bits. The reader skips any
// other elements, including nested sequences of undefined length, and never
// panics on malformed input.
package dicom

import "errors"

// Transfer syntax UIDs this package understands.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2"
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
)

// TransferSyntaxes lists the syntaxes Write can produce and Read can decode.
var TransferSyntaxes = []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian,
	DeflatedExplicitVRLE, ExplicitVRBigEndian, JPEGBaseline}

// Image is one decoded grayscale frame with the attributes that describe it.
type Image struct {
	Rows, Columns  int
	BitsAllocated  int // 8 or 16
	BitsStored     int
	Signed         bool   // PixelRepresentation 1
	Photometric    string // MONOCHROME1 or MONOCHROME2
	TransferSyntax string
	PatientID      string
	// RescaleSlope and RescaleIntercept map stored values to output units
	// (slope 0 is read as 1).
	RescaleSlope, RescaleIntercept float64
	// Pixels are the stored values, row-major, Rows*Columns of them.
	Pixels []int32
}

// ErrNotDICOM is returned for data that is not a DICOM file.
var ErrNotDICOM = errors.New("dicom: not a DICOM file")

// ErrUnsupported is returned for valid DICOM the package does not decode
// (other compressions, colour images, several samples per pixel).
var ErrUnsupported = errors.New("dicom: unsupported")

// Tags used by the package.
type tag uint32

func mk(g, e uint16) tag { return tag(uint32(g)<<16 | uint32(e)) }

var (
	tagTransferSyntax = mk(0x0002, 0x0010)
	tagPatientID      = mk(0x0010, 0x0020)
	tagSamples        = mk(0x0028, 0x0002)
	tagPhotometric    = mk(0x0028, 0x0004)
	tagFrames         = mk(0x0028, 0x0008)
	tagRows           = mk(0x0028, 0x0010)
	tagColumns        = mk(0x0028, 0x0011)
	tagBitsAllocated  = mk(0x0028, 0x0100)
	tagBitsStored     = mk(0x0028, 0x0101)
	tagPixelRep       = mk(0x0028, 0x0103)
	tagIntercept      = mk(0x0028, 0x1052)
	tagSlope          = mk(0x0028, 0x1053)
	tagPixelData      = mk(0x7FE0, 0x0010)
	tagItem           = mk(0xFFFE, 0xE000)
	tagItemDelim      = mk(0xFFFE, 0xE00D)
	tagSeqDelim       = mk(0xFFFE, 0xE0DD)
)

// implicitVR gives the VR of the tags the reader interprets when the file
// does not spell VRs out; everything else is read as opaque bytes.
var implicitVR = map[tag]string{
	tagSamples: "US", tagRows: "US", tagColumns: "US", tagBitsAllocated: "US",
	tagBitsStored: "US", mk(0x0028, 0x0102): "US", tagPixelRep: "US",
	tagPhotometric: "CS", tagPatientID: "LO", tagIntercept: "DS", tagSlope: "DS",
	tagFrames: "IS", tagPixelData: "OW",
}

// longVR are the explicit VRs with a 2-byte reserved field and 4-byte length.
var longVR = map[string]bool{"OB": true, "OD": true, "OF": true, "OL": true, "OV": true,
	"OW": true, "SQ": true, "SV": true, "UC": true, "UN": true, "UR": true, "UT": true, "UV": true}
