package datasetplugin

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/sdk"
)

func corpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := synth.DefaultConfig()
	cfg.Studies, cfg.Size = 40, 32
	if err := synth.Write(context.Background(), dir, cfg); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMimicBatches(t *testing.T) {
	ctx := context.Background()
	p := New("mimic-cxr", "")
	root := filepath.Join(corpus(t), "MIMIC-CXR")
	if err := p.Configure(ctx, map[string]any{"root": root, "image_size": 32, "text_sampling": "sentence"}); err != nil {
		t.Fatal(err)
	}
	info, err := p.Describe(ctx, "train")
	if err != nil {
		t.Fatal(err)
	}
	if info.Len < 8 || info.Task != sdk.TaskPaired {
		t.Fatalf("train split: %+v", info)
	}
	req := sdk.BatchRequest{Split: "train", Indices: []int{0, 1, 2, 3}, Augment: true, Seed: 7, Epoch: 1}
	a, err := p.Batch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Images.Shape; !reflect.DeepEqual(got, []int64{4, 1, 32, 32}) {
		t.Fatalf("images shape %v", got)
	}
	if len(a.Texts) != 4 || len(a.IDs) != 4 {
		t.Fatalf("%d texts, %d ids", len(a.Texts), len(a.IDs))
	}
	b, err := p.Batch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Images.Data, b.Images.Data) || !reflect.DeepEqual(a.Texts, b.Texts) {
		t.Fatal("the same request must give the same augmented batch")
	}
	whole := New("mimic-cxr", "")
	if err := whole.Configure(ctx, map[string]any{"root": root, "image_size": 32, "text_sampling": "report"}); err != nil {
		t.Fatal(err)
	}
	plain, err := whole.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.Texts[0], a.Texts[0]) {
		t.Errorf("sampled sentence %q is not part of the report %q", a.Texts[0], plain.Texts[0])
	}
	if _, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: []int{info.Len}}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("index past the end: err = %v", err)
	}
}

// TestPlainBatchesSampleOneFixedSentence: with sentence sampling a plain
// batch (validation) carries one sentence of each report, as training does,
// and the same sentence for a sample whatever the request's seed and epoch,
// the plugin instance (another run) or the batch it is in. (Validation asks
// for its split in plain batches; which split does not matter here.)
func TestPlainBatchesSampleOneFixedSentence(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(corpus(t), "MIMIC-CXR")
	configure := func() *Plugin {
		p := New("mimic-cxr", "")
		if err := p.Configure(ctx, map[string]any{"root": root, "image_size": 32, "text_sampling": "sentence"}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := configure()
	info, err := p.Describe(ctx, "train")
	if err != nil {
		t.Fatal(err)
	}
	if info.Len < 4 {
		t.Fatalf("train split: %d pairs", info.Len)
	}
	src, err := catalog.OpenOptions("mimic-cxr", root, "train", nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, info.Len)
	for i := range idx {
		idx[i] = i
	}
	a, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: idx, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	multi, notFirst := 0, 0
	for i, text := range a.Texts {
		ex, err := src.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ex.Texts, text) {
			t.Errorf("sample %s: text %q is not one of its sentences %q", ex.ID, text, ex.Texts)
		}
		if len(ex.Texts) > 1 {
			multi++
			if text != ex.Texts[0] {
				notFirst++
			}
		}
	}
	if multi == 0 || notFirst == 0 {
		t.Fatalf("%d multi-sentence reports, %d not given their first sentence: the test needs both", multi, notFirst)
	}
	for _, req := range []sdk.BatchRequest{
		{Split: "train", Indices: idx, Seed: 99, Epoch: 3},
		{Split: "train", Indices: idx},
	} {
		b, err := configure().Batch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Texts, b.Texts) {
			t.Errorf("seed %d epoch %d: texts differ:\n%q\n%q", req.Seed, req.Epoch, a.Texts, b.Texts)
		}
	}
	last, err := p.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: idx[len(idx)-1:]})
	if err != nil {
		t.Fatal(err)
	}
	if last.Texts[0] != a.Texts[len(idx)-1] {
		t.Errorf("in a batch of its own the last sample gets %q, in the whole split %q", last.Texts[0], a.Texts[len(idx)-1])
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	p := New("chexpert", "")
	if err := p.Configure(ctx, map[string]any{}); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("missing root: err = %v", err)
	}
	if err := p.Configure(ctx, map[string]any{"root": "/x", "imagesize": 3}); err == nil || !strings.Contains(err.Error(), "imagesize") {
		t.Errorf("unknown key: err = %v", err)
	}
	if _, err := p.Describe(ctx, "train"); err == nil {
		t.Error("Describe before a successful Configure must fail")
	}
}
