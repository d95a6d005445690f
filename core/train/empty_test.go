package train

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// holes is pairs whose samples at bad indices fail to load, served as the
// dataset plugin serves them: left out of their batch, and a batch whose
// samples all fail comes back empty (the plugin counts them against
// max_bad_fraction).
type holes struct {
	pairs
	bad map[int]bool
}

func (d holes) Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	var keep []int
	for _, i := range req.Indices {
		if !d.bad[i] {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return &sdk.Batch{}, nil
	}
	req.Indices = keep
	return d.pairs.Batch(ctx, req)
}

// TestEmptyBatchesAreSkipped: an all-bad training batch is skipped without
// a step (the epoch still ends after its batches), an all-bad validation
// batch is left out of the validation loss, with and without length
// bucketing.
func TestEmptyBatchesAreSkipped(t *testing.T) {
	const n, size, epochs, seed = 40, 8, 2, 1
	bad := map[int]bool{}
	for _, i := range EpochOrder(n, seed, 0)[:size] { // epoch 1's first batch
		bad[i] = true
	}
	for i := range size { // the first validation batch
		bad[i] = true
	}
	// Steps: one per batch (or, bucketed, per regrouped batch) with a
	// readable sample.
	steps := func(w int) int {
		s := 0
		for e := range epochs {
			order := EpochOrder(n, seed, e)
			for w0 := 0; w0 < n/size; w0 += w {
				rows := 0
				for _, i := range order[w0*size : (w0+w)*size] {
					if !bad[i] {
						rows++
					}
				}
				s += min(rows, w)
			}
		}
		return s
	}
	for _, w := range []int{1, 5} {
		t.Run(fmt.Sprintf("length_buckets=%d", w), func(t *testing.T) {
			p, img, _ := newParts()
			p.Data = holes{pairs{n: n}, bad}
			res, err := Run(context.Background(), Config{BatchSize: size, Epochs: epochs, Seed: seed, ValSplit: "val", LengthBuckets: w}, p)
			if err != nil {
				t.Fatal(err)
			}
			if want := steps(w); res.Steps != want || img.steps != want || res.Epochs != epochs {
				t.Errorf("%d steps (encoder %d) over %d epochs, want %d over %d", res.Steps, img.steps, res.Epochs, want, epochs)
			}
			if math.IsNaN(res.BestValLoss) || len(img.valLosses) != epochs-1 {
				t.Errorf("validation loss %v, %d validation losses seen", res.BestValLoss, len(img.valLosses))
			}
		})
	}
}

// TestOnlyEmptyBatchesFail: when a whole epoch's batches come back empty
// (a dataset whose max_bad_fraction lets every sample be bad), the run
// stops with an error instead of turning forever without a step.
func TestOnlyEmptyBatchesFail(t *testing.T) {
	p, _, _ := newParts()
	all := map[int]bool{}
	for i := range 40 {
		all[i] = true
	}
	p.Data = holes{pairs{n: 40}, all}
	_, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 10, Seed: 1}, p)
	if err == nil || !strings.Contains(err.Error(), "came back empty") {
		t.Fatalf("err = %v", err)
	}
}
