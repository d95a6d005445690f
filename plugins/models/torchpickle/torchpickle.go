// Package torchpickle reads PyTorch's torch.save files (torchvision's
// .pth downloads, Hugging Face's pytorch_model.bin) as state dicts, through
// libtorch's own unpickler: torch::pickle_load, the C++ side of torch.load,
// compiled in by a small cgo shim (shim.cpp). That unpickler knows a fixed
// set of globals (tensor rebuilders, storages, OrderedDict) and fails on any
// other, so pickled code is never run, unlike Python's torch.load without
// weights_only.
//
// Both formats torch.save has written are read: the zip archive of PyTorch
// 1.6 and later, and the older sequence of pickles, repacked as an archive
// first (legacy.go).
//
// The shim links Debian's libtorch (libtorch-dev) by default, as the fitted
// gotch does; for another libtorch (LIBTORCH=/path make build) make fit
// writes that libtorch's flags into libtorch_cgo.go here
// (core/torchbuild.ShimFile).
package torchpickle

// #cgo CXXFLAGS: -std=c++17 -O2 -w -isystem /usr/include/torch/csrc/api/include
// #cgo LDFLAGS: -Wl,--no-as-needed -lstdc++ -ltorch -ltorch_cpu -lc10
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"github.com/convirt/convirt/plugins/models/safetensors"
)

// zipMagic starts every torch.save archive (a zip file's local header).
var zipMagic = []byte("PK\x03\x04")

// legacyMagic starts a torch.save file of PyTorch before 1.6: pickle
// protocol 2, then the LONG1 magic number 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// IsArchive reports whether b starts like a torch.save zip archive.
func IsArchive(b []byte) bool { return bytes.HasPrefix(b, zipMagic) }

// IsLegacy reports whether b starts like a torch.save file of PyTorch
// before 1.6 (not a zip archive), which Parse repacks first (legacy.go).
func IsLegacy(b []byte) bool { return bytes.HasPrefix(b, legacyMagic) }

// Parse reads the torch.save archive b, which must hold a dict of strings
// to tensors, as a safetensors File (tensors copied, C-contiguous, on the
// CPU; no metadata).
func Parse(b []byte) (*safetensors.File, error) {
	if IsLegacy(b) {
		var err error
		if b, err = legacyToZip(b); err != nil {
			return nil, fmt.Errorf("torch.save file of PyTorch before 1.6: %w", err)
		}
	}
	if !IsArchive(b) {
		return nil, errors.New("not a torch.save zip archive")
	}
	var cerr *C.char
	failed := func(step string) error {
		msg := "libtorch failed without a message"
		if cerr != nil {
			msg = C.GoString(cerr)
			C.free(unsafe.Pointer(cerr))
		}
		return fmt.Errorf("%s: %s", step, msg)
	}
	// b is pinned for the call's duration only, and the archive reads it
	// afterwards: give it C memory.
	cb := C.CBytes(b)
	defer C.free(cb)
	ar := C.cv_archive_open((*C.char)(cb), C.size_t(len(b)), &cerr)
	if ar == nil {
		return nil, failed("open archive")
	}
	defer C.cv_archive_free(ar)
	var n C.size_t
	cp := C.cv_archive_pickle(ar, &n, &cerr)
	if cp == nil {
		return nil, failed("read data.pkl")
	}
	pkl := C.GoBytes(unsafe.Pointer(cp), C.int(n))
	C.free(unsafe.Pointer(cp))
	pkl, err := rewrite(pkl)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	cpkl := C.CBytes(pkl)
	defer C.free(cpkl)
	sd := C.cv_unpickle(ar, (*C.char)(cpkl), C.size_t(len(pkl)), &cerr)
	if sd == nil {
		return nil, failed("unpickle data.pkl (libtorch's unpickler)")
	}
	defer C.cv_sd_free(sd)
	count := int(C.cv_sd_len(sd))
	f := &safetensors.File{Tensors: make(map[string]safetensors.Tensor, count)}
	for i := range count {
		ci := C.size_t(i)
		name := C.GoString(C.cv_sd_name(sd, ci))
		t := safetensors.Tensor{DType: C.GoString(C.cv_sd_dtype(sd, ci)), Shape: make([]int64, int(C.cv_sd_ndim(sd, ci)))}
		if len(t.Shape) > 0 {
			copy(t.Shape, unsafe.Slice((*int64)(unsafe.Pointer(C.cv_sd_shape(sd, ci))), len(t.Shape)))
		}
		if nb := int(C.cv_sd_nbytes(sd, ci)); nb > 0 {
			t.Data = C.GoBytes(C.cv_sd_data(sd, ci), C.int(nb))
		} else {
			t.Data = []byte{}
		}
		f.Tensors[name] = t
	}
	return f, nil
}

// ReadFile reads and parses the torch.save file at path; errors name it.
func ReadFile(path string) (*safetensors.File, error) {
	return safetensors.ReadWith(path, "torch.save file", Parse)
}
