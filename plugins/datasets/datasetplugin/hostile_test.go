package datasetplugin

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/hashicorp/go-hclog"
)

// pairedRows writes a paired root of n rows (img000.png ...), the last bad
// of whose images are not images, and returns the root and those images'
// paths.
func pairedRows(t *testing.T, n, bad int) (string, []string) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("image,report\n")
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("img%03d.png", i)
		fmt.Fprintf(&csv, "%s,FINDINGS: Clear lungs number %d.\n", names[i], i)
	}
	root := pairedRoot(t, map[string]string{"pairs.csv": csv.String()}, names...)
	var paths []string
	for _, name := range names[n-bad:] {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return root, paths
}

// inOrder asks for indices order in batches of size and returns the batches
// until the first error.
func inOrder(p *Plugin, order []int, size int) ([]*sdk.Batch, error) {
	var out []*sdk.Batch
	for lo := 0; lo < len(order); lo += size {
		b, err := p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: order[lo:min(lo+size, len(order))]})
		if err != nil {
			return out, fmt.Errorf("batch %d: %w", lo/size, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func span(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestAllBadBatchUnderThreshold: 4 unreadable images of 260 (1.5%, under
// the 5% default) at the end of the index make the last batch of 128 in
// order all bad; it comes back empty, not as an error, and so does the same
// batch asked for first.
func TestAllBadBatchUnderThreshold(t *testing.T) {
	root, _ := pairedRows(t, 260, 4)
	p := configured(t, "paired", map[string]any{"root": root, "image_size": 8})
	bs, err := inOrder(p, span(260), 128)
	if err != nil {
		t.Fatalf("4 bad samples of 260: %v", err)
	}
	got := 0
	for _, b := range bs {
		got += len(b.IDs)
	}
	last := bs[len(bs)-1]
	if got != 256 || len(last.IDs) != 0 || last.Images != nil || len(last.Texts) != 0 {
		t.Errorf("%d samples served, last batch %d ids, images %v, %d texts; want 256 and an empty last batch", got, len(last.IDs), last.Images, len(last.Texts))
	}

	// Bad samples first (a shuffled epoch can start with them): the split
	// is judged by its count of bad samples, not by the first ones served.
	q := configured(t, "paired", map[string]any{"root": root, "image_size": 8})
	rev := span(260)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for e := range 3 { // and over epochs, each bad sample is one sample
		if _, err := inOrder(q, rev, 8); err != nil {
			t.Fatalf("epoch %d, bad samples first: %v", e, err)
		}
	}
}

// TestBadSamplesOverThresholdFail: 20 unreadable images of 260 (7.7%) fail
// the split with the threshold message once the 14th (over 5% of 260) is
// seen, naming the first problems.
func TestBadSamplesOverThresholdFail(t *testing.T) {
	root, bad := pairedRows(t, 260, 20)
	p := configured(t, "paired", map[string]any{"root": root, "image_size": 8})
	bs, err := inOrder(p, span(260), 128)
	if err == nil {
		t.Fatal("20 bad samples of 260 passed max_bad_fraction 0.05")
	}
	if len(bs) != 1 { // batch 1 holds rows 240-255: 16 bad
		t.Errorf("failed after %d batches, want 1", len(bs))
	}
	for _, want := range []string{"dataset paired split train", "too many bad samples", "16 of the split's 260", "max_bad_fraction 5.0%", bad[0]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	ok := configured(t, "paired", map[string]any{"root": root, "image_size": 8, "max_bad_fraction": 0.1})
	if _, err := inOrder(ok, span(260), 128); err != nil {
		t.Errorf("20 of 260 under max_bad_fraction 0.1: %v", err)
	}
}

// hugePNG is a 1 x 1 gray PNG whose IHDR (CRC recomputed) declares w x h.
func hugePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], uint32(w))
	binary.BigEndian.PutUint32(b[20:], uint32(h))
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestOversizedImageIsABadSample: an image whose header declares more
// pixels than max_pixels is skipped like any bad sample, named in the log
// with the limit and the key that raises it; the key moves the limit.
func TestOversizedImageIsABadSample(t *testing.T) {
	root, _ := pairedRows(t, 60, 0)
	huge := filepath.Join(root, "img003.png")
	// 9000 x 9000 = 81M pixels, over the default 67M; the pixel data is
	// missing, so a decoder without the limit allocates 81 MB and fails.
	if err := os.WriteFile(huge, hugePNG(t, 9000, 9000), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(root, "img004.png") // 30 x 30 = 900 pixels; the others are 24 x 24
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 30, 30))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func(cfg map[string]any) ([]string, string) { return servePaired(t, cfg, 2, 3, 4, 5) }
	ids, log := serve(map[string]any{"root": root, "image_size": 8})
	if len(ids) != 3 {
		t.Errorf("default limit: served %v, want 3 of 4", ids)
	}
	for _, want := range []string{huge, "9000 x 9000", fmt.Sprint(loader.DefaultMaxPixels), "max_pixels"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if ids, log := serve(map[string]any{"root": root, "image_size": 8, "max_pixels": 899}); len(ids) != 2 || !strings.Contains(log, big) {
		t.Errorf("max_pixels 899: served %v, want the 30 x 30 image refused too; log:\n%s", ids, log)
	}
	if ids, _ := serve(map[string]any{"root": root, "image_size": 8, "max_pixels": 900}); len(ids) != 3 {
		t.Errorf("max_pixels 900: served %v, want the 30 x 30 image back", ids)
	}
}

// TestSymlinkOutOfRootIsRefused: an image that is a symlink to a readable
// image outside the root is a bad sample naming where it leads, unless
// allow_outside_root is set; links inside the root, and a root reached
// through a link, are followed.
func TestSymlinkOutOfRootIsRefused(t *testing.T) {
	root, _ := pairedRows(t, 60, 0)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 20, 20))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, in := filepath.Join(root, "img001.png"), filepath.Join(root, "img002.png")
	for link, target := range map[string]string{out: secret, in: "img000.png"} {
		if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	realSecret, err := filepath.EvalSymlinks(secret) // TMPDIR may be reached through a link
	if err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(t.TempDir(), "alias")
	if err := os.Symlink(root, alias); err != nil {
		t.Fatal(err)
	}
	serve := func(cfg map[string]any) ([]string, string) { return servePaired(t, cfg, 0, 1, 2) }
	for _, r := range []string{root, alias} {
		ids, log := serve(map[string]any{"root": r, "image_size": 8})
		if len(ids) != 2 {
			t.Errorf("root %s: served %v, want the link out of the root skipped", r, ids)
		}
		for _, want := range []string{filepath.Join(r, "img001.png"), realSecret, "outside", "allow_outside_root: true"} {
			if !strings.Contains(log, want) {
				t.Errorf("root %s: log lacks %q:\n%s", r, want, log)
			}
		}
	}
	if ids, log := serve(map[string]any{"root": root, "image_size": 8, "allow_outside_root": true}); len(ids) != 3 {
		t.Errorf("allow_outside_root: served %v; log:\n%s", ids, log)
	}
}

// TestAbsoluteIndexPathIsRefusedByName: an absolute image path in a
// CheXpert index (whose paths lose their first element) is refused at
// open time naming the path and the row, not moved under the root and
// reported missing.
func TestAbsoluteIndexPathIsRefusedByName(t *testing.T) {
	root := chexpertCorpus(t, 10)
	outside := filepath.Join(t.TempDir(), "x.jpg")
	if err := os.WriteFile(outside, []byte("exists"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(root, "train.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s,Male,50,Frontal,AP%s\n", outside, strings.Repeat(",", 14))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p := configured(t, "chexpert", map[string]any{"root": root})
	if _, err := p.Describe(context.Background(), "train"); err != nil {
		t.Fatal(err)
	}
	var found *source.Problem
	for _, pr := range p.splits["train"].src.Problems() {
		if strings.Contains(pr.Msg, outside) {
			found = &pr
		}
	}
	if found == nil || !strings.Contains(found.Msg, "is absolute") || found.Line == 0 || !strings.HasSuffix(found.Path, "train.csv") {
		t.Errorf("absolute path: problem %+v; all: %v", found, p.splits["train"].src.Problems())
	}
}

// servePaired configures the "paired" plugin with cfg and reads the train
// examples at indices; it returns the ids served (bad samples skipped) and
// what the plugin logged.
func servePaired(t *testing.T, cfg map[string]any, indices ...int) ([]string, string) {
	t.Helper()
	var log bytes.Buffer
	p := New("paired", "")
	p.SetLogger(hclog.New(&hclog.LoggerOptions{Output: &log}))
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	b, err := p.Batch(context.Background(), sdk.BatchRequest{Split: "train", Indices: indices})
	if err != nil {
		t.Fatal(err)
	}
	return b.IDs, log.String()
}
