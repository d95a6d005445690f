// Package autocast runs libtorch ops in mixed precision: it switches
// libtorch's autocast (ATen/autocast_mode.h, which gotch does not wrap) on
// and off for the calling OS thread, checks that a precision can run on a
// device before training starts, and holds the dynamic loss scaler fp16
// training needs (scaler.go).
//
// Under autocast, libtorch casts the inputs of the ops that profit
// (convolutions, matrix products, linear layers) to the lower precision and
// keeps the others (reductions, softmax, losses) in fp32; parameters stay
// fp32, so gradients and optimiser state do too ("master weights").
//
// Autocast's state lives in thread-local storage, so Enter and the ops of
// the region must run on one OS thread: call them from a goroutine that
// holds runtime.LockOSThread (an encoder's libtorch thread, or
// torchrt.Pin) for the whole region.
package autocast

// The shim (shim.cpp) links against the libtorch that gotch's libtch names
// in its cgo flags, so a CPU, CUDA or LIBTORCH= build needs nothing here.

/*
#cgo CXXFLAGS: -std=c++17 -O2
#cgo LDFLAGS: -ldl
int cvt_autocast_is_enabled(int cuda);
void cvt_autocast_set_enabled(int cuda, int on);
int cvt_autocast_get_dtype(int cuda);
void cvt_autocast_set_dtype(int cuda, int dtype);
int cvt_autocast_increment_nesting();
int cvt_autocast_decrement_nesting();
void cvt_autocast_clear_cache();
int cvt_cuda_capability(int device, int *major, int *minor);
*/
import "C"

import (
	"fmt"
	"os"
	"strings"

	"github.com/sugarme/gotch"
	_ "github.com/sugarme/gotch/libtch" // links libtorch for shim.cpp
)

// The precisions a recipe may name.
const (
	FP32 = "fp32" // no autocast
	BF16 = "bf16" // autocast to bfloat16: CPUs with AVX-512 BF16 or AMX, GPUs of compute capability 8.0 and later
	FP16 = "fp16" // autocast to float16 with a dynamic loss scaler: CUDA only
)

// Names is the recipe enum of precisions, as schema tags spell it.
const Names = FP32 + "|" + BF16 + "|" + FP16

// DType is the autocast dtype of precision p; fp32 has none (ok false).
func DType(p string) (dt gotch.DType, ok bool, err error) {
	switch p {
	case "", FP32:
		return gotch.Float, false, nil
	case BF16:
		return gotch.BFloat16, true, nil
	case FP16:
		return gotch.Half, true, nil
	}
	return gotch.Float, false, fmt.Errorf("precision %q: want %s", p, strings.ReplaceAll(Names, "|", ", "))
}

// Check returns nil when precision p can run on dev, or an error saying why
// not: fp16 needs CUDA (libtorch's CPU autocast casts to bfloat16 only),
// bf16 needs a CPU with AVX-512 BF16 or AMX (without them libtorch emulates
// it, slower than fp32) or a GPU of compute capability 8.0 or later.
func Check(p string, dev gotch.Device) error {
	if _, _, err := DType(p); err != nil {
		return err
	}
	return check(p, dev, cpuFlags, cudaCapability)
}

func check(p string, dev gotch.Device, flags func() (string, error), capability func(int) (int, int, error)) error {
	switch {
	case p == "" || p == FP32:
		return nil
	case !dev.IsCuda() && p == FP16:
		return fmt.Errorf("precision fp16 needs a CUDA device (device is cpu): libtorch's CPU autocast runs bfloat16 only; use bf16 on a CPU with AVX-512 BF16 or AMX, or fp32")
	case !dev.IsCuda():
		f, err := flags()
		if err != nil {
			return fmt.Errorf("precision bf16 on cpu: cannot read the CPU's features: %w", err)
		}
		if !HasBF16(f) {
			return fmt.Errorf("precision bf16 on cpu: this CPU has neither AVX-512 BF16 nor AMX (no avx512_bf16 or amx_bf16 in /proc/cpuinfo), so libtorch would emulate bfloat16, slower than fp32; use fp32")
		}
		return nil
	case p == BF16:
		major, minor, err := capability(dev.Value)
		if err != nil {
			return fmt.Errorf("precision bf16 on cuda:%d: %w", dev.Value, err)
		}
		if major < 8 {
			return fmt.Errorf("precision bf16 on cuda:%d: compute capability %d.%d has no bfloat16 tensor cores (8.0 or later needed); use fp16", dev.Value, major, minor)
		}
	}
	return nil
}

// HasBF16 reports whether /proc/cpuinfo's flags (the text of the file or
// one flags line) name AVX-512 BF16 or AMX-BF16.
func HasBF16(cpuinfo string) bool {
	for _, f := range strings.Fields(cpuinfo) {
		if f == "avx512_bf16" || f == "amx_bf16" {
			return true
		}
	}
	return false
}

func cpuFlags() (string, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "flags") {
			return line, nil
		}
	}
	return "", fmt.Errorf("/proc/cpuinfo has no flags line")
}

func cudaCapability(device int) (int, int, error) {
	var major, minor C.int
	switch C.cvt_cuda_capability(C.int(device), &major, &minor) {
	case 0:
		return int(major), int(minor), nil
	case -1:
		return 0, 0, fmt.Errorf("no CUDA runtime in this process (a CPU build of libtorch)")
	default:
		return 0, 0, fmt.Errorf("cudaDeviceGetAttribute failed")
	}
}

func cudaFlag(dev gotch.Device) C.int {
	if dev.IsCuda() {
		return 1
	}
	return 0
}

// Enter turns autocast to precision p on for dev's device type on the
// calling OS thread, and returns the function that restores the previous
// state; leaving the outermost region also clears autocast's cache of cast
// weights, which would otherwise keep stale copies after an optimiser step
// (as torch.autocast's __exit__ does). fp32 changes nothing. The caller
// must hold its OS thread from Enter to exit.
func Enter(dev gotch.Device, p string) (exit func(), err error) {
	dt, on, err := DType(p)
	if err != nil || !on {
		return func() {}, err
	}
	cuda := cudaFlag(dev)
	prevOn := C.cvt_autocast_is_enabled(cuda)
	prevDT := C.cvt_autocast_get_dtype(cuda)
	C.cvt_autocast_set_dtype(cuda, C.int(dt.CKind()))
	C.cvt_autocast_set_enabled(cuda, 1)
	C.cvt_autocast_increment_nesting()
	return func() {
		if C.cvt_autocast_decrement_nesting() == 0 {
			C.cvt_autocast_clear_cache()
		}
		C.cvt_autocast_set_enabled(cuda, prevOn)
		C.cvt_autocast_set_dtype(cuda, prevDT)
	}, nil
}

// Enabled reports whether autocast is on for dev's device type on the
// calling OS thread, and its dtype.
func Enabled(dev gotch.Device) (bool, gotch.DType) {
	cuda := cudaFlag(dev)
	on := C.cvt_autocast_is_enabled(cuda) != 0
	return on, gotch.CKind2DType(int32(C.cvt_autocast_get_dtype(cuda)))
}
