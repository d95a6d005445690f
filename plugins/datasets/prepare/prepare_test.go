package prepare

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/catalog"
	"github.com/convirt/convirt/plugins/datasets/loader"
	"github.com/convirt/convirt/plugins/datasets/source"
	"github.com/convirt/convirt/plugins/datasets/synth"
)

// pairedCorpus writes a "paired" dataset of n non-square JPEGs (w x h,
// smooth shapes like a radiograph's) and returns its root.
func pairedCorpus(t *testing.T, n, w, h int) string {
	t.Helper()
	root := t.TempDir()
	rows := []string{"image,report"}
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				v := 40 + 120*float64(y)/float64(h)
				dx, dy := float64(x-w/3-5*i), float64(y-h/2)
				if dx*dx+dy*dy < float64(w*w)/30 {
					v += 80
				}
				v += 20 * math.Sin(float64(x)/7+float64(i))
				img.Pix[y*img.Stride+x] = uint8(min(max(v, 0), 255))
			}
		}
		rel := fmt.Sprintf("img/s%d/%d.jpg", i%3, i)
		p := filepath.Join(root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		rows = append(rows, rel+",The heart is normal. No effusion.")
	}
	if err := os.WriteFile(filepath.Join(root, "pairs.csv"), []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// examples lists a split's examples with images.
func examples(t *testing.T, name, root, split string) []source.Example {
	t.Helper()
	src, err := catalog.Open(name, root, split)
	if err != nil {
		t.Fatal(err)
	}
	var out []source.Example
	for i := range src.Len() {
		if ex, err := src.Example(i); err == nil && ex.ImagePath != "" {
			out = append(out, ex)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s %s: no examples", name, split)
	}
	return out
}

// meanAbsDiff is the mean absolute difference of two normalised images,
// in [0,1] grey units (the loader's default std is 0.25).
func meanAbsDiff(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i] - b[i]))
	}
	return s / float64(len(a)) * 0.25
}

// compare loads every example from the original and through the cache and
// checks that each copy is used and the pixels are close.
func compare(t *testing.T, exs []source.Example, c *Cache, o loader.Options, tol float64) {
	t.Helper()
	worst := 0.0
	for _, ex := range exs {
		if c.Lookup(ex.ImagePath) == "" {
			t.Fatalf("%s: no prepared copy", ex.ImagePath)
		}
		o.Cache = nil
		orig, err := loader.Load(ex, o)
		if err != nil {
			t.Fatal(err)
		}
		o.Cache = c
		prep, err := loader.Load(ex, o)
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, meanAbsDiff(orig, prep))
	}
	t.Logf("size %d augment %v: worst mean abs diff %.4f over %d images", o.Size, o.Augment, worst, len(exs))
	if worst > tol {
		t.Fatalf("prepared images differ from the originals: mean abs diff %.4f > %.4f", worst, tol)
	}
}

func TestPreparedImagesMatchOriginals(t *testing.T) {
	ctx := context.Background()
	root := pairedCorpus(t, 6, 500, 600)
	res, err := Run(ctx, Options{Dataset: "paired", Root: root, Workers: 2}) // default size 256
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 6 || res.Converted != 6 || len(res.Failed) != 0 {
		t.Fatalf("result %+v", res)
	}
	c, err := Open("", root, 224)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() != 256 || c.Len() != 6 || c.Dir() != filepath.Join(root, DirName, "256") {
		t.Fatalf("cache %s size %d len %d", c.Dir(), c.Size(), c.Len())
	}
	g, err := loader.DecodeFile(filepath.Join(c.Dir(), "img", "s0", "0.jpg.png"))
	if err != nil || g.W != 256 || g.H != 307 {
		t.Fatalf("prepared copy %dx%d, %v; want 256x307 (short side 256)", g.W, g.H, err)
	}
	exs := examples(t, "paired", root, "")
	compare(t, exs, c, loader.Options{Size: 224}, 0.004)
	compare(t, exs, c, loader.Options{Size: 224, Resize: loader.Stretch}, 0.004)
	compare(t, exs, c, loader.Options{Size: 224, Augment: true, Aug: augment.Default(), Seed: 5, Epoch: 2}, 0.015)
}

func TestPreparedSynthMIMICAndDICOM(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := synth.Write(ctx, dir, synth.Config{Studies: 10, Size: 96, Seed: 2, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	for _, ds := range []struct{ name, root, split string }{
		{"mimic-cxr", filepath.Join(dir, "MIMIC-CXR"), "train"},
		{"rsna", filepath.Join(dir, "RSNA"), "all"},
	} {
		t.Run(ds.name, func(t *testing.T) {
			res, err := Run(ctx, Options{Dataset: ds.name, Root: ds.root, Size: 48, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res.Converted == 0 || res.Converted != res.Images || len(res.Failed) != 0 {
				t.Fatalf("result %+v", res)
			}
			c, err := Open("", ds.root, 40)
			if err != nil {
				t.Fatal(err)
			}
			exs := examples(t, ds.name, ds.root, ds.split)
			compare(t, exs, c, loader.Options{Size: 40}, 0.015)
			aug := loader.Options{Size: 40, Augment: true, Aug: augment.Default(), Seed: 9}
			compare(t, exs, c, aug, 0.05) // tiny images: a one-pixel crop shift is 2% of the side
			// Augmentation through the cache is a function of (seed, epoch, id).
			aug.Cache = c
			src := &source.Slice{Examples: exs}
			idx := make([]int, len(exs))
			for i := range idx {
				idx[i] = i
			}
			b1, err := loader.LoadBatch(ctx, src, idx, aug, 1)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := loader.LoadBatch(ctx, src, idx, aug, 3)
			if string(b1.Images.Data) != string(b2.Images.Data) {
				t.Fatal("augmentation through the cache depends on the worker count")
			}
			aug.Epoch = 1
			b3, _ := loader.LoadBatch(ctx, src, idx, aug, 2)
			if string(b1.Images.Data) == string(b3.Images.Data) {
				t.Fatal("augmentation through the cache ignores the epoch")
			}
		})
	}
}

func TestCacheHitFallbackAndStale(t *testing.T) {
	ctx := context.Background()
	root := pairedCorpus(t, 3, 120, 100)
	if _, err := Run(ctx, Options{Dataset: "paired", Root: root, Size: 32}); err != nil {
		t.Fatal(err)
	}
	c, err := Open("", root, 32)
	if err != nil {
		t.Fatal(err)
	}
	exs := examples(t, "paired", root, "")
	o := loader.Options{Size: 32, Resize: loader.Stretch}
	orig, _ := loader.Load(exs[0], o)
	copyPath := c.Lookup(exs[0].ImagePath)
	// Hit: a black copy shows that the copy is what gets read.
	black := image.NewGray(image.Rect(0, 0, 38, 32))
	f, _ := os.Create(copyPath)
	jpeg.Encode(f, black, nil)
	f.Close()
	o.Cache = c
	got, err := loader.Load(exs[0], o)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != -2 { // black, normalised with mean 0.5 and std 0.25
			t.Fatalf("copy not used: pixel %d is %v", i, v)
		}
	}
	// Fallback: a missing copy reads the original.
	os.Remove(copyPath)
	got, err = loader.Load(exs[0], o)
	if err != nil || meanAbsDiff(got, orig) != 0 {
		t.Fatalf("missing copy: %v, diff %v", err, meanAbsDiff(got, orig))
	}
	// Stale: an original changed since prepare is read, not its copy.
	p1 := exs[1].ImagePath
	if c.Lookup(p1) == "" {
		t.Fatal("no copy of the second image")
	}
	data, _ := os.ReadFile(p1)
	os.WriteFile(p1, append(data, 0), 0o644) // one byte longer, still a valid JPEG
	if c.Lookup(p1) != "" {
		t.Fatal("stale copy still offered")
	}
	// Outside the root, or not prepared: no copy.
	if c.Lookup(filepath.Join(t.TempDir(), "x.jpg")) != "" || c.Lookup(filepath.Join(root, "nope.jpg")) != "" {
		t.Fatal("copy offered for an image never prepared")
	}
	// A rerun redoes exactly the missing and the stale copies.
	res, err := Run(ctx, Options{Dataset: "paired", Root: root, Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted != 2 || res.Reused != 1 {
		t.Fatalf("rerun converted %d, reused %d; want 2 and 1", res.Converted, res.Reused)
	}
}

func TestOpenPicksSmallestCompleteSize(t *testing.T) {
	ctx := context.Background()
	root := pairedCorpus(t, 2, 100, 80)
	for _, s := range []int{24, 48, 64} {
		if _, err := Run(ctx, Options{Dataset: "paired", Root: root, Size: s}); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(Dir("", root, 48), ManifestName)) // as if interrupted
	c, err := Open("", root, 32)
	if err != nil || c.Size() != 64 {
		t.Fatalf("got %v, %v; want the complete 64", c, err)
	}
	if c, err = Open("", root, 24); err != nil || c.Size() != 24 {
		t.Fatalf("got %v, %v; want 24", c, err)
	}
	_, err = Open("", root, 65)
	if !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("want ErrNotPrepared, got %v", err)
	}
	os.Remove(filepath.Join(Dir("", root, 64), ManifestName))
	_, err = Open("", root, 40)
	if !errors.Is(err, ErrNotPrepared) || !strings.Contains(err.Error(), "48") || !strings.Contains(err.Error(), "no manifest") {
		t.Fatalf("incomplete cache not explained: %v", err)
	}
}
