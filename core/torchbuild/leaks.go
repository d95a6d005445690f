package torchbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GeneratedGoFile is gotch's generated Go binding, one method per op.
const GeneratedGoFile = "ts/tensor-generated.go"

// Two leaks in gotch v0.9.1's generated Go bindings, fixed in the copy:
//
//   - every op allocates the C slot for its result with malloc(0) and never
//     frees it;
//   - an in-place op (Mul_, Sqrt_, ...) replaces the receiver's handle with
//     the new handle libtorch returns without deleting the old one, and the
//     old handle holds a reference to the tensor's storage: an in-place op
//     on a temporary keeps the temporary's memory alive for ever (Adam's
//     update leaked three parameter-sized tensors per step).
//
// An in-place op returns its receiver: the new handle and the old one point
// to the same tensor. The fix keeps the old handle (other Go values may
// share it: gotch copies Tensor structs by value, so deleting it would leave
// them dangling) and deletes the new one.
const (
	inplaceLine = "  ts.ctensor = *ptr\n"
	inplaceFix  = "  lib.AtFree(*ptr) // the same tensor as ts: keep ts's handle\n  C.free(unsafe.Pointer(ptr))\n"
	resultLine  = "  retVal = newTensor(*ptr, "
)

// PatchLeaks fixes both leaks in src, gotch's generated Go bindings, and
// reports how many in-place and result sites it changed.
func PatchLeaks(src string) (string, int, int, error) {
	inplace := strings.Count(src, inplaceLine)
	out := strings.ReplaceAll(src, inplaceLine, inplaceFix)
	var b strings.Builder
	results := 0
	for _, line := range strings.SplitAfter(out, "\n") {
		b.WriteString(line)
		if strings.HasPrefix(line, resultLine) && strings.HasSuffix(line, ")\n") {
			b.WriteString("  C.free(unsafe.Pointer(ptr))\n")
			results++
		}
	}
	if inplace == 0 || results == 0 {
		return "", 0, 0, fmt.Errorf("%s: found %d in-place and %d result sites to patch; gotch's generated code changed", GeneratedGoFile, inplace, results)
	}
	return b.String(), inplace, results, nil
}

// patchLeaks applies PatchLeaks to the gotch copy in dir.
func patchLeaks(dir string) (string, error) {
	p := filepath.Join(dir, filepath.FromSlash(GeneratedGoFile))
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	src, in, res, err := PatchLeaks(string(b))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d in-place ops and %d results", in, res), nil
}
