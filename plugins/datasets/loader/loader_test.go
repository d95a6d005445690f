package loader

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/augment"
	"github.com/convirt/convirt/plugins/datasets/dicom"
	"github.com/convirt/convirt/plugins/datasets/source"
)

func writeImages(t *testing.T) []source.Example {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range g.Pix {
		g.Pix[i] = byte(i * 7)
	}
	var jb, pb, db bytes.Buffer
	jpeg.Encode(&jb, g, nil)
	png.Encode(&pb, g)
	px := make([]int32, len(g.Pix))
	for i, v := range g.Pix {
		px[i] = int32(v)
	}
	dicom.Write(&db, &dicom.Image{Rows: 30, Columns: 40, BitsAllocated: 8, Pixels: px}, dicom.WriteOptions{})
	files := map[string][]byte{"a.jpg": jb.Bytes(), "b.png": pb.Bytes(), "c.dcm": db.Bytes(),
		"empty.jpg": nil, "trunc.jpg": jb.Bytes()[:len(jb.Bytes())/3], "junk.png": []byte("nope")}
	var exs []source.Example
	for _, n := range []string{"a.jpg", "b.png", "c.dcm", "empty.jpg", "trunc.jpg", "junk.png"} {
		p := filepath.Join(dir, n)
		os.WriteFile(p, files[n], 0o644)
		exs = append(exs, source.Example{ID: n, ImagePath: p})
	}
	return exs
}

func TestLoadBatch(t *testing.T) {
	src := &source.Slice{Examples: writeImages(t)}
	o := Options{Size: 16, Channels: 3, Augment: true, Aug: augment.Default(), Seed: 3}
	b, err := LoadBatch(context.Background(), src, []int{0, 1, 2, 3, 4, 5}, o, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Examples) != 3 || len(b.Bad) != 3 {
		t.Fatalf("loaded %d, bad %v", len(b.Examples), b.Bad)
	}
	if got := b.Images.Shape; got[0] != 3 || got[1] != 3 || got[2] != 16 || got[3] != 16 {
		t.Fatalf("shape %v", got)
	}
	b2, _ := LoadBatch(context.Background(), src, []int{0, 1, 2}, o, 1)
	if !bytes.Equal(b.Images.Data, b2.Images.Data) {
		t.Fatal("augmentation depends on worker count")
	}
	o.Epoch = 1
	b3, _ := LoadBatch(context.Background(), src, []int{0, 1, 2}, o, 1)
	if bytes.Equal(b.Images.Data, b3.Images.Data) {
		t.Fatal("augmentation does not change with the epoch")
	}
}

func TestFormatsAgree(t *testing.T) {
	exs := writeImages(t)
	o := Options{Size: 8, Resize: Stretch}
	png, err := Load(exs[1], o)
	if err != nil {
		t.Fatal(err)
	}
	dcm, err := Load(exs[2], o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range png { // DICOM min-max scaling differs from /255 only by the range used
		if (png[i] < 0) != (dcm[i] < 0) && (png[i] > 0.5 || png[i] < -0.5) {
			t.Fatalf("pixel %d: png %v dicom %v", i, png[i], dcm[i])
		}
	}
	if _, err := Load(exs[3], o); err == nil {
		t.Fatal("empty file loaded")
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &source.Slice{Examples: writeImages(t)}
	if _, err := LoadBatch(ctx, src, []int{0, 1, 2, 0, 1, 2}, Options{Size: 8}, 1); err == nil {
		t.Fatal("cancelled context ignored")
	}
}

func TestTextOnlyExamples(t *testing.T) {
	exs := writeImages(t)
	q1 := source.Example{ID: "q1", Texts: []string{"Large left effusion."}}
	q2 := source.Example{ID: "q2", Texts: []string{"No acute findings."}}
	src := &source.Slice{Examples: append(exs, q1, q2)}
	o := Options{Size: 8, Channels: 1}
	b, err := LoadBatch(context.Background(), src, []int{6, 7}, o, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b.Images != nil || len(b.Examples) != 2 || len(b.Bad) != 0 {
		t.Fatalf("text-only batch: images %v, %d examples, bad %v", b.Images, len(b.Examples), b.Bad)
	}
	// Mixed with images, a text-only sample is skipped and reported.
	b, err = LoadBatch(context.Background(), src, []int{0, 6}, o, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b.Images == nil || len(b.Examples) != 1 || len(b.Bad) != 1 {
		t.Fatalf("mixed batch: %d examples, bad %v", len(b.Examples), b.Bad)
	}
}
