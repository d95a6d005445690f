package torchrt

import "testing"

func TestThreadsAndPin(t *testing.T) {
	if err := SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if got := NumThreads(); got != 1 {
		t.Fatalf("NumThreads() = %d after SetNumThreads(1)", got)
	}
	if err := SetNumThreads(0); err == nil {
		t.Fatal("SetNumThreads(0) succeeded")
	}
	err := Pin(func() error {
		prev, err := SetGradEnabled(false)
		if err != nil {
			return err
		}
		if !prev {
			t.Error("grad mode was off inside Pin")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
