package prepare

import (
	"context"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInterruptThenResume(t *testing.T) {
	root := pairedCorpus(t, 12, 90, 110)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	res, err := Run(ctx, Options{Dataset: "paired", Root: root, Size: 32, Workers: 1,
		OnImage: func(string, error) {
			if seen++; seen == 4 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled prepare returned %v", err)
	}
	if res.Converted < 4 || res.Converted >= 12 {
		t.Fatalf("converted %d before stopping; want 4 to 11", res.Converted)
	}
	dir := Dir("", root, 32)
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("interrupted prepare wrote a manifest: %v", err)
	}
	if _, err := Open("", root, 32); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("interrupted cache taken as complete: %v", err)
	}
	// A line cut by the interruption, and a copy deleted since, are redone.
	j, err := os.OpenFile(filepath.Join(dir, journalName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	j.WriteString(`{"path":"img/s2/11.jpg","fi`)
	j.Close()
	done, _ := readJournal(dir)
	if len(done) != res.Converted {
		t.Fatalf("journal holds %d entries, %d converted", len(done), res.Converted)
	}
	var gone string
	for _, e := range done {
		gone = e.File
		break
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(gone)))

	var redone []string
	res2, err := Run(context.Background(), Options{Dataset: "paired", Root: root, Size: 32, Workers: 2,
		OnImage: func(p string, _ error) { redone = append(redone, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Reused != res.Converted-1 || res2.Converted != 12-res2.Reused {
		t.Fatalf("resume reused %d, converted %d; first run converted %d", res2.Reused, res2.Converted, res.Converted)
	}
	if !strings.Contains(strings.Join(redone, "\n"), strings.TrimSuffix(filepath.FromSlash(gone), ".png")) {
		t.Fatalf("deleted copy %s not redone: %v", gone, redone)
	}
	if _, err := os.Stat(filepath.Join(dir, journalName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("journal left after a complete prepare: %v", err)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != 12 || m.Size != 32 || m.Format != Format || m.Version != Version || len(m.Datasets["paired"]) == 0 {
		t.Fatalf("manifest %+v", m)
	}
	for k, e := range m.Entries {
		if !copyIntact(dir, e) || e.SrcSize == 0 || e.SrcMtime == 0 || k+".png" != e.File {
			t.Fatalf("entry %s: %+v", k, e)
		}
	}
	// Complete and unchanged: nothing to do.
	res3, err := Run(context.Background(), Options{Dataset: "paired", Root: root, Size: 32})
	if err != nil || res3.Converted != 0 || res3.Reused != 12 {
		t.Fatalf("third run: %+v, %v", res3, err)
	}
}

func TestBadImagesAndOptions(t *testing.T) {
	root := pairedCorpus(t, 3, 60, 50)
	os.WriteFile(filepath.Join(root, "img", "s1", "1.jpg"), []byte("not an image"), 0o644)
	res, err := Run(context.Background(), Options{Dataset: "paired", Root: root, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted != 2 || len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Path, "1.jpg") {
		t.Fatalf("result %+v", res)
	}
	c, err := Open("", root, 16)
	if err != nil || c.Len() != 2 {
		t.Fatalf("cache of the good images: %v", err)
	}
	for _, o := range []Options{
		{Dataset: "nope", Root: root},
		{Dataset: "paired"},
		{Dataset: "paired", Root: root, Size: 4},
		{Dataset: "paired", Root: root, Splits: []string{"bogus"}},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Fatalf("options %+v accepted", o)
		}
	}
	// A manifest of another version is not a cache.
	dir := Dir("", root, 16)
	data, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	os.WriteFile(filepath.Join(dir, ManifestName), []byte(strings.Replace(string(data), `"version":1`, `"version":99`, 1)), 0o644)
	if _, err := Open("", root, 16); !errors.Is(err, ErrNotPrepared) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("foreign manifest: %v", err)
	}
}

func TestSmallImagesKeepTheirSize(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "small.png")
	f, _ := os.Create(src)
	png.Encode(f, image.NewGray(image.Rect(0, 0, 20, 30)))
	f.Close()
	e, err := Convert(src, filepath.Join(dir, "out"), "a/small.png.png", 64)
	if err != nil {
		t.Fatal(err)
	}
	if e.W != 20 || e.H != 30 || !copyIntact(filepath.Join(dir, "out"), e) {
		t.Fatalf("entry %+v", e)
	}
}
