package torchbuild

import (
	"strings"
	"testing"
)

const genSample = `func(ts *Tensor) Mul_(other *Tensor)(err error) { 
  ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))
  
    lib.AtgMul_(ptr, ts.ctensor, other.ctensor)
  if err = TorchErr(); err != nil {
    return err
  }
  ts.ctensor = *ptr
  
  return err
} 

func(ts *Tensor) Mul(other *Tensor, del bool)(retVal *Tensor, err error) { 
  if del { defer ts.MustDrop() }
  ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))
  
    lib.AtgMul(ptr, ts.ctensor, other.ctensor)
  if err = TorchErr(); err != nil {
    return retVal, err
  }
  retVal = newTensor(*ptr, "Mul")
  
  return retVal, err
} 
`

func TestPatchLeaks(t *testing.T) {
	out, in, res, err := PatchLeaks(genSample)
	if err != nil || in != 1 || res != 1 {
		t.Fatalf("in-place %d, results %d, err %v", in, res, err)
	}
	want1 := "  lib.AtFree(*ptr) // the same tensor as ts: keep ts's handle\n  C.free(unsafe.Pointer(ptr))\n"
	want2 := "  retVal = newTensor(*ptr, \"Mul\")\n  C.free(unsafe.Pointer(ptr))\n"
	if !strings.Contains(out, want1) || !strings.Contains(out, want2) || strings.Contains(out, "ts.ctensor = *ptr") {
		t.Fatalf("patched:\n%s", out)
	}
	if _, _, _, err := PatchLeaks("package ts\n"); err == nil {
		t.Fatal("a file without the patterns was accepted")
	}
}
