package torchbuild

import (
	"strings"
	"testing"
)

func TestPatchBallast(t *testing.T) {
	src := "func newTensor(ctensor lib.Ctensor, nameOpt ...string) *Tensor {\n\tx := new(Tensor)\n\tx.ctensor = ctensor\n\tx.d = new(bigStruct)\n\n\tlock.Lock()\n"
	out, err := PatchBallast(src)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "new(bigStruct)") || !strings.Contains(out, "x.ctensor = ctensor\n") {
		t.Fatalf("patched:\n%s", out)
	}
	if _, err := PatchBallast(out); err == nil {
		t.Fatal("patching twice succeeded")
	}
}
