package torchbuild_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/torchbuild"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// TestFittedBuildStubbedOp checks the fitted gotch this test binary links:
// a supported op works, and an op the installed libtorch lacks returns the
// stub's clear error instead of failing to build or crashing.
func TestFittedBuildStubbedOp(t *testing.T) {
	x := ts.MustOnes([]int64{2, 3}, gotch.Float, gotch.CPU)
	defer x.MustDrop()
	s := x.MustSum(gotch.Float, false)
	defer s.MustDrop()
	if got := s.Float64Values()[0]; got != 6 {
		t.Fatalf("sum of ones(2,3) = %v, want 6", got)
	}

	lt, err := torchbuild.Locate(os.Getenv("LIBTORCH"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join("stubs", "libtorch-"+lt.Version+".txt"))
	if err != nil {
		t.Skipf("no stub list for libtorch %s: %v", lt.Version, err)
	}
	if !strings.Contains(string(list), "atg_empty_permuted\n") {
		t.Skipf("libtorch %s has empty_permuted; nothing to check", lt.Version)
	}
	_, err = ts.EmptyPermuted([]int64{2, 2}, []int64{0, 1}, gotch.Float, gotch.CPU)
	want := "op empty_permuted is not available in libtorch " + lt.Version
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("EmptyPermuted error = %v, want one containing %q", err, want)
	}
}

// TestFittedNoBallast checks that wrapping a tensor no longer allocates
// gotch's 100 KB Go ballast (see ballast.go): 1000 handles must cost far
// less than the 100 MB they used to.
func TestFittedNoBallast(t *testing.T) {
	x := ts.MustOnes([]int64{2}, gotch.Float, gotch.CPU)
	defer x.MustDrop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 1000 {
		y := x.MustShallowClone()
		y.MustDrop()
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 10<<20 {
		t.Fatalf("1000 tensor handles allocated %d bytes of Go memory", d)
	}
}
