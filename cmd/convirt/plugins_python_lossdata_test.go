package main

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// A loss and a dataset served by the Python SDK, over the real wire: the
// loss's value, gradients (in shared memory) and metrics, its state; the
// dataset's splits, description and batches (images, texts, labels,
// groups), and its error for an unknown split.
func TestPythonSDKLossAndDataset(t *testing.T) {
	needPythonSDK(t)
	ctx := context.Background()
	segs := t.TempDir()
	t.Setenv(shm.EnvDir, segs)
	wire := sdk.WireOptions{ShmThreshold: 1}
	loss, err := host.StartLoss(ctx, host.Spec{Name: "py-dot", Path: sumPlugin(t), Args: []string{"loss"}, Wire: wire})
	if err != nil {
		t.Fatal(err)
	}
	defer loss.Close()
	if err := loss.Configure(ctx, map[string]any{"scale": 2.0}); err != nil {
		t.Fatal(err)
	}
	v, _ := tensor.FromFloat32([]int64{2, 2}, []float32{1, 2, 3, 4})
	u, _ := tensor.FromFloat32([]int64{2, 2}, []float32{5, 6, 7, 8})
	r, err := loss.Compute(ctx, v, u)
	if err != nil {
		t.Fatal(err)
	}
	gv, _ := r.GradV.Float32s()
	gu, _ := r.GradU.Float32s()
	if r.Loss != 140 || !equal32(gv, []float32{10, 12, 14, 16}) || !equal32(gu, []float32{2, 4, 6, 8}) ||
		r.Metrics["rows"] != 2 || r.Metrics["v_view"] != 1 || math.Abs(r.Chance-math.Log(2)) > 1e-12 {
		t.Errorf("compute: loss %v, grads %v %v, metrics %v, chance %v", r.Loss, gv, gu, r.Metrics, r.Chance)
	}
	if err := loss.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := loss.State(ctx); err != nil || string(st) != `{"steps": 1}` {
		t.Errorf("state %q, %v", st, err)
	}

	data, err := host.StartDataset(ctx, host.Spec{Name: "py-count", Path: sumPlugin(t), Args: []string{"dataset"}, Wire: wire})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if err := data.Configure(ctx, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if sp, err := data.Splits(ctx); err != nil || len(sp) != 1 || sp[0] != "train" {
		t.Errorf("splits %v, %v", sp, err)
	}
	if si, err := data.Describe(ctx, "train"); err != nil || si.Len != 5 || si.Task != "binary" || len(si.LabelNames) != 1 {
		t.Errorf("describe %+v, %v", si, err)
	}
	if _, err := data.Describe(ctx, "test"); err == nil || !strings.Contains(err.Error(), `no split 'test'`) {
		t.Errorf("unknown split: %v", err)
	}
	b, err := data.Batch(ctx, sdk.BatchRequest{Split: "train", Indices: []int{3, 0}})
	if err != nil {
		t.Fatal(err)
	}
	px, _ := b.Images.Float32s()
	lab, _ := b.Labels.Float32s()
	if strings.Join(b.IDs, ",") != "s3,s0" || strings.Join(b.Texts, ",") != "report 3,report 0" || strings.Join(b.Groups, ",") != "p1,p0" ||
		!equal32(px, []float32{3, 3, 3, 3, 0, 0, 0, 0}) || !equal32(lab, []float32{1, 0}) || len(b.Images.Shape) != 4 {
		t.Errorf("batch %+v, images %v, labels %v", b, px, lab)
	}
	if err := loss.Close(); err != nil {
		t.Error(err)
	}
	if err := data.Close(); err != nil {
		t.Error(err)
	}
	if left, _ := os.ReadDir(segs); len(left) != 0 {
		t.Errorf("segments left: %v", left)
	}
}
