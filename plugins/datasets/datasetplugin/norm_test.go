package datasetplugin

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/hashicorp/go-hclog"
)

// pixels returns the images of the first two CheXpert training samples,
// with extra config keys.
func pixels(t *testing.T, extra map[string]any) []float32 {
	t.Helper()
	cfg := map[string]any{"root": filepath.Join(shared(t), "CheXpert-v1.0-small"), "image_size": 16, "prepared": "off"}
	for k, v := range extra {
		cfg[k] = v
	}
	return batchPixels(t, configured(t, "chexpert", cfg), sdk.BatchRequest{Split: "train", Indices: []int{0, 1}})
}

// TestNormalisation: without mean and std a batch is (x - 0.5) / 0.25 as
// before; with them each channel c is (x - mean[c]) / std[c].
func TestNormalisation(t *testing.T) {
	def := pixels(t, nil)
	if same := pixels(t, map[string]any{"mean": []any{0.5}, "std": []any{0.25}}); !equal(def, same, 0) {
		t.Error("mean [0.5], std [0.25] differs from the default normalisation")
	}
	gray := make([]float64, len(def))
	for i, v := range def {
		gray[i] = float64(v)*0.25 + 0.5
	}
	rgb := pixels(t, map[string]any{"channels": 3, "mean": []any{0.485, 0.456, 0.406}, "std": []any{0.229, 0.224, 0.225}})
	n := 16 * 16
	if len(rgb) != 3*len(def) {
		t.Fatalf("%d values for 3 channels, %d for one", len(rgb), len(def))
	}
	for img := range 2 {
		for c := range 3 {
			for i := range n {
				x := gray[img*n+i]
				want := (x - ImageNetMean[c]) / ImageNetStd[c]
				if got := float64(rgb[(img*3+c)*n+i]); math.Abs(got-want) > 1e-4 {
					t.Fatalf("image %d channel %d pixel %d: %v, want (%v - %v) / %v = %v", img, c, i, got, x, ImageNetMean[c], ImageNetStd[c], want)
				}
			}
		}
	}
}

func equal(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// TestNormalisationErrors: each bad mean/std names the key at fault.
func TestNormalisationErrors(t *testing.T) {
	imagenet := []any{0.485, 0.456, 0.406}
	cases := []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"channels": 3, "mean": imagenet, "std": []any{0.229, 0, 0.225}}, "std.1 is 0"},
		{map[string]any{"channels": 3, "mean": imagenet, "std": []any{0.229, -0.2, 0.225}}, "std.1 is -0.2"},
		{map[string]any{"channels": 1, "mean": imagenet, "std": []any{0.229, 0.224, 0.225}}, "mean has 3 values for channels: 1"},
		{map[string]any{"channels": 3, "mean": imagenet, "std": []any{0.25}}, "std has 1 values for channels: 3"},
		{map[string]any{"channels": 3, "mean": imagenet}, "mean is set without std"},
		{map[string]any{"std": []any{0.25}}, "std is set without mean"},
		{map[string]any{"mean": []any{}, "std": []any{}}, "mean has 0 values"},
		{map[string]any{"mean": "0.5", "std": []any{0.25}}, "mean"},
	}
	for _, c := range cases {
		c.cfg["root"] = "/data"
		p := New("chexpert", "")
		p.SetLogger(hclog.NewNullLogger())
		err := p.Configure(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "dataset chexpert") {
			t.Errorf("%v: %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// TestTaskIsLogged: the task a split poses is stated in the log when the
// split is opened, so a reader that derives it from its files (COVIDx with
// variant: auto on a positive/negative file) never changes it silently.
func TestTaskIsLogged(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "train.txt"), []byte("1 a.jpg positive src\n2 b.jpg negative src\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p := New("covidx", "")
	p.SetLogger(hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true}))
	if err := p.Configure(context.Background(), map[string]any{"root": root, "variant": "auto"}); err != nil {
		t.Fatal(err)
	}
	if info, err := p.Describe(context.Background(), "train"); err != nil || info.Task != "binary" {
		t.Fatalf("%+v %v", info, err)
	}
	if log := buf.String(); !strings.Contains(log, `"task":"binary"`) || !strings.Contains(log, `"labels":"COVID-19"`) || !strings.Contains(log, `"split":"train"`) {
		t.Errorf("log does not state the task: %s", log)
	}
	// By default (three-class) the same file is an error saying what to set.
	p = New("covidx", "")
	p.SetLogger(hclog.NewNullLogger())
	if err := p.Configure(context.Background(), map[string]any{"root": root}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Describe(context.Background(), "train"); err == nil || !strings.Contains(err.Error(), "variant: binary") {
		t.Errorf("binary file as three classes: %v", err)
	}
}
