package datasetplugin

import (
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/prepare"
	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/hashicorp/go-hclog"
)

// batchPixels returns the first len(idx) images of split as floats.
func batchPixels(t *testing.T, p *Plugin, req sdk.BatchRequest) []float32 {
	t.Helper()
	b, err := p.Batch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Images.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPreparedKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := synth.Write(ctx, dir, synth.Config{Studies: 10, Size: 64, Seed: 4, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "MIMIC-CXR")
	cfg := func(kv ...any) map[string]any {
		m := map[string]any{"root": root, "image_size": 32, "workers": 2}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// No cache yet: required fails naming the command to run; auto reads
	// the originals.
	p := New("mimic-cxr", "")
	p.SetLogger(hclog.NewNullLogger())
	err := p.Configure(ctx, cfg("prepared", "required"))
	if err == nil || !strings.Contains(err.Error(), "convirt data prepare --dataset mimic-cxr") || !strings.Contains(err.Error(), "no complete prepared cache") {
		t.Fatalf("required without a cache: %v", err)
	}
	if err := p.Configure(ctx, cfg("prepared", "sometimes")); err == nil {
		t.Fatal("prepared: sometimes accepted")
	}
	if p := configured(t, "mimic-cxr", cfg()); p.cache != nil {
		t.Fatal("auto found a cache that does not exist")
	}

	if _, err := prepare.Run(ctx, prepare.Options{Dataset: "mimic-cxr", Root: root, Size: 40, Splits: []string{"train"}}); err != nil {
		t.Fatal(err)
	}
	req := sdk.BatchRequest{Split: "train", Indices: []int{0, 1, 2, 3}, Augment: true, Seed: 3, Epoch: 1}
	off := batchPixels(t, configured(t, "mimic-cxr", cfg("prepared", "off")), req)
	auto := configured(t, "mimic-cxr", cfg())
	if auto.cache == nil {
		t.Fatal("auto did not pick up the cache")
	}
	required := configured(t, "mimic-cxr", cfg("prepared", "required"))
	a, r := batchPixels(t, auto, req), batchPixels(t, required, req)
	var diff float64
	for i := range off {
		diff += math.Abs(float64(off[i]-a[i])) * 0.25 // back to [0,1] grey units
		if a[i] != r[i] {
			t.Fatal("auto and required read different images")
		}
	}
	if diff /= float64(len(off)); diff > 0.05 {
		t.Fatalf("prepared batch differs from the originals: mean abs diff %.4f", diff)
	}
	if again := batchPixels(t, auto, req); !slices.Equal(again, a) {
		t.Fatal("augmented batch through the cache is not reproducible")
	}

	// The copies are what is read: blacken the first one.
	ex, _ := auto.splits["train"].src.Example(0)
	copyPath := auto.cache.Lookup(ex.ImagePath)
	f, _ := os.Create(copyPath)
	png.Encode(f, image.NewGray(image.Rect(0, 0, 40, 40)))
	f.Close()
	plain := sdk.BatchRequest{Split: "train", Indices: []int{0}}
	for _, v := range batchPixels(t, auto, plain) {
		if v != -2 {
			t.Fatalf("copy not read: pixel %v", v)
		}
	}
	// A size above the cache's is not served from it.
	if p := configured(t, "mimic-cxr", cfg("image_size", 48)); p.cache != nil {
		t.Fatal("a 40-pixel cache used for 48-pixel images")
	}
	if err := New("mimic-cxr", "").Configure(ctx, cfg("image_size", 48, "prepared", "required")); err == nil {
		t.Fatal("required accepted a cache smaller than image_size")
	}
	// prepared_dir points at a cache kept elsewhere.
	elsewhere := t.TempDir()
	if _, err := prepare.Run(ctx, prepare.Options{Dataset: "mimic-cxr", Root: root, Size: 64, Base: elsewhere, Splits: []string{"validate"}}); err != nil {
		t.Fatal(err)
	}
	if p := configured(t, "mimic-cxr", cfg("image_size", 48, "prepared", "required", "prepared_dir", elsewhere)); p.cache == nil {
		t.Fatal("prepared_dir cache not used")
	}
}
