package experiment

import (
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/features"
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

// lastFourBad is the case: 4 unreadable samples of 260 at the end
// of the split, so that its last batch of features.Batch (128) in order is all
// bad.
func lastFourBad() holeyData {
	r := rand.New(rand.NewPCG(5, 5))
	return holeyData{fakeData{"test": separable(r, 260)}, map[int]bool{256: true, 257: true, 258: true, 259: true}}
}

// TestEvaluationReadsSkipEmptyBatches: features, labels and fine-tuning
// encodings of a split whose last batch comes back empty hold every readable
// sample, without an error.
func TestEvaluationReadsSkipEmptyBatches(t *testing.T) {
	ctx := context.Background()
	d := lastFourBad()
	enc := &fakeEncoder{W: 1}

	fs, err := features.Extract(ctx, enc, d, "test", sdk.OutputFeatures, false, 1, io.Discard)
	if err != nil {
		t.Fatalf("features: %v", err)
	}
	if len(fs.IDs) != 256 || fs.Features.Shape[0] != 256 || fs.Labels.Shape[0] != 256 {
		t.Errorf("features of %d ids, shape %v, labels %v; want 256", len(fs.IDs), fs.Features.Shape, fs.Labels.Shape)
	}

	l, err := features.ReadLabels(ctx, d, "test")
	if err != nil {
		t.Fatalf("labels: %v", err)
	}
	for i, row := range l.Rows {
		if (row == nil) != d.bad[i] {
			t.Errorf("labels of sample %d: %v (bad: %v)", i, row, d.bad[i])
		}
	}

	fs, err = features.EncodeRows(ctx, enc, d, "test", features.Span(0, 260), []string{"finding"})
	if err != nil {
		t.Fatalf("fine-tuning encodings: %v", err)
	}
	if len(fs.IDs) != 256 {
		t.Errorf("encoded %d samples, want 256", len(fs.IDs))
	}
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
