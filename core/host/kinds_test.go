package host_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestDatasetBatchThroughSharedMemory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(shm.EnvDir, dir)
	ds, err := host.StartDataset(context.Background(), plugintest.Spec(plugintest.ModeRamp))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ctx := context.Background()
	if sp, err := ds.Splits(ctx); err != nil || len(sp) != 1 || sp[0] != "train" {
		t.Fatalf("Splits = %v, %v", sp, err)
	}
	info, err := ds.Describe(ctx, "train")
	if err != nil || info.Len != 1000 || info.Task != sdk.TaskBinary || info.LabelNames[0] != "odd" {
		t.Fatalf("Describe = %+v, %v", info, err)
	}
	if _, err := ds.Describe(ctx, "val"); err == nil || err.Error() != `plugin "ramp": Describe: no split "val"` {
		t.Fatalf("Describe(val) error = %v", err)
	}
	idx := []int{7, 3, 999, 0, 42, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16} // 16 x 64x64 float32 = 256 KiB
	b, err := ds.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: idx})
	if err != nil {
		t.Fatal(err)
	}
	img, err := b.Images.Float32s()
	if err != nil || len(img) != 16*64*64 {
		t.Fatalf("images: %d values, %v", len(img), err)
	}
	for k, i := range idx {
		if img[k*4096+4095] != float32(i) || b.IDs[k] != sampleID(i) {
			t.Fatalf("sample %d: pixel %v id %s", i, img[k*4096+4095], b.IDs[k])
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("segments left: %v", ents)
	}
}

func sampleID(i int) string {
	return strconv.Itoa(i)
}

func TestEvaluatorRoundTrip(t *testing.T) {
	ev, err := host.StartEvaluator(context.Background(), plugintest.Spec(plugintest.ModeEcho))
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	ctx := context.Background()
	f := ramp(t, 300, 256) // 300 KiB: over the shm threshold
	l := ramp(t, 300, 1)
	ids := make([]string, 300)
	res, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: "probe", Params: map[string]any{"k": 5},
		Splits: map[string]*sdk.FeatureSet{"test": {Features: f, Labels: l, IDs: ids, LabelNames: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics["n"] != 300 || res.Metrics["k"] != 5 || len(res.Curves) != 1 || res.Curves[0].YLabel != "tpr" {
		t.Fatalf("result = %+v", res)
	}
	if len(res.Scores) != 1 || res.Scores[0].Metric != "auc" || res.Scores[0].CIHi != 0.8 || len(res.Scores[0].Values) != 2 {
		t.Fatalf("scores = %+v", res.Scores)
	}
	if len(res.Predictions) != 1 || res.Predictions[0].Name != "seed-0" {
		t.Fatalf("predictions = %+v", res.Predictions)
	}
	if p := res.Predictions[0]; string(p.Scores.Data) != string(f.Data) || len(p.IDs) != 300 {
		t.Fatal("predictions changed on the wire")
	}
	g, _ := tensor.FromFloat32([]int64{2}, []float32{1, 2})
	lab, _ := tensor.FromFloat32([]int64{2}, []float32{3, 4})
	loss, grad, err := ev.Grad(ctx, g, lab)
	if err != nil || loss != 11 || string(grad.Data) != string(lab.Data) {
		t.Fatalf("Grad = %v, %v, %v", loss, grad, err)
	}
}
