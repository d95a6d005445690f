package synth

import (
	"context"
	"sync/atomic"
	"testing"
)

// TestItemsCountsProgress: Items is exactly how many times Write reports
// progress, so that a progress bar of the corpus has its true total.
func TestItemsCountsProgress(t *testing.T) {
	for _, studies := range []int{10, 37} {
		var n atomic.Int64
		c := Config{Studies: studies, Seed: 3, Size: 16, UncertainP: 0.25, Progress: func() { n.Add(1) }}
		if err := Write(context.Background(), t.TempDir(), c); err != nil {
			t.Fatal(err)
		}
		if got := Items(c); int64(got) != n.Load() {
			t.Errorf("%d studies: Items = %d, Write reported %d", studies, got, n.Load())
		}
	}
}
