package autocast

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

func mustTensor(t *testing.T, data []float32, shape []int64, requiresGrad bool) *ts.Tensor {
	t.Helper()
	x, err := ts.NewTensorFromData(data, shape)
	if err != nil {
		t.Fatal(err)
	}
	if requiresGrad {
		x.MustRequiresGrad_(true)
	}
	t.Cleanup(func() { x.MustDrop() })
	return x
}

// An op autocast lowers (mm) returns bfloat16 inside the region and fp32
// after it; the previous state comes back on exit, nested regions included.
func TestEnterCastsOnTheCallingThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := mustTensor(t, []float32{1, 2, 3, 4}, []int64{2, 2}, false)
	dtypeOfMM := func() gotch.DType {
		y := a.MustMm(a, false)
		defer y.MustDrop()
		return y.DType()
	}
	if got := dtypeOfMM(); got != gotch.Float {
		t.Fatalf("before autocast: mm is %v, want float", got)
	}
	exit, err := Enter(gotch.CPU, BF16)
	if err != nil {
		t.Fatal(err)
	}
	if on, dt := Enabled(gotch.CPU); !on || dt != gotch.BFloat16 {
		t.Errorf("inside: Enabled = %v, %v; want true, bfloat16", on, dt)
	}
	if got := dtypeOfMM(); got != gotch.BFloat16 {
		t.Errorf("inside autocast bf16: mm is %v, want bfloat16", got)
	}
	inner, err := Enter(gotch.CPU, BF16)
	if err != nil {
		t.Fatal(err)
	}
	inner()
	if on, _ := Enabled(gotch.CPU); !on {
		t.Error("leaving a nested region turned autocast off")
	}
	exit()
	if on, _ := Enabled(gotch.CPU); on {
		t.Error("autocast still on after exit")
	}
	if got := dtypeOfMM(); got != gotch.Float {
		t.Errorf("after exit: mm is %v, want float", got)
	}
	noop, err := Enter(gotch.CPU, FP32)
	if err != nil {
		t.Fatal(err)
	}
	if on, _ := Enabled(gotch.CPU); on {
		t.Error("fp32 turned autocast on")
	}
	noop()
	if _, err := Enter(gotch.CPU, "fp8"); err == nil || !strings.Contains(err.Error(), `precision "fp8"`) {
		t.Errorf("Enter(fp8) = %v, want an error naming it", err)
	}
}

// Leaving the outermost region drops autocast's cached casts of weights, so
// the next region sees a weight an optimiser changed in place in between.
func TestExitClearsTheWeightCache(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	x := mustTensor(t, []float32{1, 1}, []int64{1, 2}, false)
	w := mustTensor(t, []float32{1, 2, 3, 4}, []int64{2, 2}, true)
	sum := func() float64 {
		exit, err := Enter(gotch.CPU, BF16)
		if err != nil {
			t.Fatal(err)
		}
		defer exit()
		y := x.MustMm(w, false)
		defer y.MustDrop()
		s := y.MustSum(gotch.Float, false)
		defer s.MustDrop()
		return s.Float64Values()[0]
	}
	if got := sum(); got != 10 {
		t.Fatalf("first region: %v, want 10", got)
	}
	ts.NoGrad(func() { w.MustMulScalar_(ts.FloatScalar(2)) })
	if got := sum(); got != 20 {
		t.Errorf("after doubling the weight: %v, want 20 (a stale cached cast gives 10)", got)
	}
}

func TestCheckRefusesWhatTheHardwareCannotRun(t *testing.T) {
	withBF16 := func() (string, error) { return "flags : fpu avx512f avx512_bf16 sse", nil }
	without := func() (string, error) { return "flags : fpu avx512f avx2 sse", nil }
	unreadable := func() (string, error) { return "", errors.New("no such file") }
	volta := func(int) (int, int, error) { return 7, 0, nil }
	ampere := func(int) (int, int, error) { return 8, 0, nil }
	noRuntime := func(int) (int, int, error) { return 0, 0, errors.New("no CUDA runtime") }
	gpu := gotch.CudaBuilder(0)
	for _, c := range []struct {
		p       string
		dev     gotch.Device
		flags   func() (string, error)
		cap     func(int) (int, int, error)
		wantErr string // "" for accepted
	}{
		{FP32, gotch.CPU, without, noRuntime, ""},
		{BF16, gotch.CPU, withBF16, noRuntime, ""},
		{BF16, gotch.CPU, without, noRuntime, "neither AVX-512 BF16 nor AMX"},
		{BF16, gotch.CPU, unreadable, noRuntime, "cannot read the CPU's features"},
		{FP16, gotch.CPU, withBF16, ampere, "fp16 needs a CUDA device"},
		{FP16, gpu, without, volta, ""},
		{BF16, gpu, without, ampere, ""},
		{BF16, gpu, withBF16, volta, "compute capability 7.0"},
		{BF16, gpu, withBF16, noRuntime, "no CUDA runtime"},
	} {
		err := check(c.p, c.dev, c.flags, c.cap)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s on %v: %v, want accepted", c.p, c.dev, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s on %v: %v, want an error containing %q", c.p, c.dev, err, c.wantErr)
		}
	}
	if err := Check("fp64", gotch.CPU); err == nil || !strings.Contains(err.Error(), "want fp32, bf16, fp16") {
		t.Errorf("Check(fp64) = %v", err)
	}
}

func TestHasBF16(t *testing.T) {
	if HasBF16("flags : avx512_bf16x avx512f") || !HasBF16("flags : amx_bf16 amx_tile") {
		t.Error("HasBF16 must match whole flags")
	}
}
