package features

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// holeyData serves n samples of one 1x1x2 "image" and one binary label per
// split, as the dataset plugin serves them: samples at bad indices fail to
// load and are left out of their batch, and a batch whose samples all fail
// comes back empty. With grouped, each sample names its group ("g-" and its
// id) in Batch.Groups.
type holeyData struct {
	n       int
	bad     map[int]bool
	grouped bool
}

func (d holeyData) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: d.n, LabelNames: []string{"finding"}, Task: sdk.TaskBinary}, nil
}

func (d holeyData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{LabelNames: []string{"finding"}}
	var x, y []float32
	for _, i := range req.Indices {
		if d.bad[i] {
			continue
		}
		id := fmt.Sprintf("%s-%d", req.Split, i)
		b.IDs = append(b.IDs, id)
		x, y = append(x, float32(i), 1), append(y, float32(i%2))
		if d.grouped {
			b.Groups = append(b.Groups, "g-"+id)
		}
	}
	if len(b.IDs) == 0 {
		return b, nil
	}
	n := int64(len(b.IDs))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, 2}, x); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, 1}, y)
	return b, err
}

// flat is an encoder whose features are the images' pixels; it counts its
// forwards.
type flat struct{ forwards int }

func (e *flat) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	e.forwards++
	v, err := req.Batch.Images.Float32s()
	if err != nil {
		return nil, err
	}
	n := int64(len(req.Batch.IDs))
	return tensor.FromFloat32([]int64{n, int64(len(v)) / n}, v)
}

// lastFourBad is the case of 4 unreadable samples of 260 at the end of the
// split, so that its last batch of Batch (128) in order is all bad.
func lastFourBad() holeyData {
	return holeyData{n: 260, bad: map[int]bool{256: true, 257: true, 258: true, 259: true}}
}

// TestReadsSkipEmptyBatches: features, labels and fine-tuning encodings of a
// split whose last batch comes back empty hold every readable sample,
// without an error.
func TestReadsSkipEmptyBatches(t *testing.T) {
	ctx := context.Background()
	d := lastFourBad()
	enc := &flat{}

	fs, err := Extract(ctx, enc, d, "test", sdk.OutputFeatures, false, 1, io.Discard)
	if err != nil {
		t.Fatalf("features: %v", err)
	}
	if len(fs.IDs) != 256 || fs.Features.Shape[0] != 256 || fs.Labels.Shape[0] != 256 {
		t.Errorf("features of %d ids, shape %v, labels %v; want 256", len(fs.IDs), fs.Features.Shape, fs.Labels.Shape)
	}

	l, err := ReadLabels(ctx, d, "test")
	if err != nil {
		t.Fatalf("labels: %v", err)
	}
	for i, row := range l.Rows {
		if (row == nil) != d.bad[i] {
			t.Errorf("labels of sample %d: %v (bad: %v)", i, row, d.bad[i])
		}
	}

	fs, err = EncodeRows(ctx, enc, d, "test", Span(0, 260), []string{"finding"})
	if err != nil {
		t.Fatalf("fine-tuning encodings: %v", err)
	}
	if len(fs.IDs) != 256 {
		t.Errorf("encoded %d samples, want 256", len(fs.IDs))
	}
}

// TestReadLabelsGroupsAroundUnreadableSamples: where a batch comes back
// short and its samples are read one by one, each readable sample still
// gets its own group, and an unreadable one none.
func TestReadLabelsGroupsAroundUnreadableSamples(t *testing.T) {
	d := holeyData{n: 150, bad: map[int]bool{3: true, 140: true}, grouped: true}
	l, err := ReadLabels(context.Background(), d, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Groups) != 150 {
		t.Fatalf("%d groups for 150 samples", len(l.Groups))
	}
	for i, g := range l.Groups {
		want := fmt.Sprintf("g-test-%d", i)
		if d.bad[i] {
			want = ""
		}
		if g != want {
			t.Errorf("sample %d: group %q, want %q", i, g, want)
		}
	}
}

// TestCacheExtractsOnce: the second read of the same encoder weights and
// split comes from the cache without a forward and equals the first; other
// weights are extracted again; an unreadable cache file is said to be
// ignored and extracted again; labels are cached alike.
func TestCacheExtractsOnce(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	c := &Cache{Dir: filepath.Join(t.TempDir(), "features"), Log: &log, Progress: io.Discard, Seed: 1}
	enc := &flat{}
	e := Encoder{Client: enc, Plugin: "flat", Config: map[string]any{"w": 1}, Weights: "init"}
	d := Dataset{Client: holeyData{n: 10}, Plugin: "holey", Config: map[string]any{"root": "x"}}
	first, err := c.Features(ctx, e, d, "test", sdk.OutputFeatures, false)
	if err != nil {
		t.Fatal(err)
	}
	n := enc.forwards
	again, err := c.Features(ctx, e, d, "test", sdk.OutputFeatures, false)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := first.Features.Float32s()
	b, _ := again.Features.Float32s()
	if enc.forwards != n || !strings.Contains(log.String(), "from cache") || fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(first.IDs) != fmt.Sprint(again.IDs) {
		t.Errorf("second read: %d forwards after %d, features %v then %v; log:\n%s", enc.forwards, n, a, b, log.String())
	}
	e.Weights = "other"
	if _, err := c.Features(ctx, e, d, "test", sdk.OutputFeatures, false); err != nil {
		t.Fatal(err)
	}
	if enc.forwards == n {
		t.Error("other weights came from the cache")
	}
	files, _ := filepath.Glob(filepath.Join(c.Dir, "*.gob"))
	if len(files) != 2 {
		t.Fatalf("cache files %v, want 2", files)
	}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("not gob"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n = enc.forwards
	if _, err := c.Features(ctx, e, d, "test", sdk.OutputFeatures, false); err != nil {
		t.Fatal(err)
	}
	if enc.forwards == n || !strings.Contains(log.String(), "ignoring unreadable feature cache") {
		t.Errorf("an unreadable cache file was not extracted again; log:\n%s", log.String())
	}

	l, err := c.Labels(ctx, d, "test")
	if err != nil {
		t.Fatal(err)
	}
	d.Client = holeyData{n: 10, bad: map[int]bool{0: true}} // the cache does not read the dataset again
	cached, err := c.Labels(ctx, d, "test")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(l.Rows) != fmt.Sprint(cached.Rows) || cached.Rows[0] == nil {
		t.Errorf("labels %v, then from the cache %v", l.Rows, cached.Rows)
	}
}
