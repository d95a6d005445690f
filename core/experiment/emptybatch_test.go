package experiment

import (
	"context"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// holeyData is fakeData whose rows at bad indices fail to load, served as
// the dataset plugin serves them: left out of their batch, and a batch whose
// samples all fail comes back empty (counted by the plugin against its
// max_bad_fraction).
type holeyData struct {
	fakeData
	bad map[int]bool
}

func (d holeyData) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: len(d.fakeData[split]), LabelNames: []string{"finding"}, Task: sdk.TaskBinary}, nil
}

func (d holeyData) Batch(ctx context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	var keep []int
	for _, i := range req.Indices {
		if !d.bad[i] {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return &sdk.Batch{LabelNames: []string{"finding"}}, nil
	}
	req.Indices = keep
	return d.fakeData.Batch(ctx, req)
}

// TestFinetuneEpochOfEmptyBatchesFails: a fine-tuning epoch whose every
// batch comes back empty stops with an error rather than stepping on
// nothing.
func TestFinetuneEpochOfEmptyBatchesFails(t *testing.T) {
	pr, _ := fakeProbe(t, 1, 0, false, &fakeEncoder{W: 1})
	all := map[int]bool{}
	for _, i := range pr.rows {
		all[i] = true
	}
	pr.ds = holeyData{pr.ds.(fakeData), all}
	pr.bar = nil
	_, err := pr.epoch(context.Background(), 0)
	if err == nil || !strings.Contains(err.Error(), "came back empty") {
		t.Fatalf("err = %v", err)
	}
}
