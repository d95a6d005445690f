package loader

import (
	"path/filepath"
	"slices"
	"testing"
)

// mapCache is an ImageCache over a fixed map.
type mapCache map[string]string

func (m mapCache) Lookup(p string) string { return m[p] }

func TestLoadThroughCache(t *testing.T) {
	exs := writeImages(t) // a.jpg, b.png, c.dcm, empty.jpg, trunc.jpg, junk.png
	o := Options{Size: 8, Resize: Stretch}
	png, _ := Load(exs[1], o)
	jpg, _ := Load(exs[0], o)
	if slices.Equal(png, jpg) {
		t.Fatal("test images must differ")
	}
	dir := filepath.Dir(exs[0].ImagePath)
	cases := []struct {
		copy string
		want []float32
	}{
		{exs[1].ImagePath, png},                  // hit: the copy is read
		{filepath.Join(dir, "missing.png"), jpg}, // missing copy: the original
		{exs[5].ImagePath, jpg},                  // undecodable copy: the original
		{exs[3].ImagePath, jpg},                  // empty copy: the original
	}
	for _, c := range cases {
		o.Cache = mapCache{exs[0].ImagePath: c.copy}
		got, err := Load(exs[0], o)
		if err != nil || !slices.Equal(got, c.want) {
			t.Fatalf("copy %s: %v, same as wanted: %v", c.copy, err, slices.Equal(got, c.want))
		}
	}
	// A bad original with a good copy loads; without one it fails.
	o.Cache = mapCache{exs[4].ImagePath: exs[1].ImagePath}
	if _, err := Load(exs[4], o); err != nil {
		t.Fatalf("good copy of a truncated original: %v", err)
	}
	o.Cache = mapCache{}
	if _, err := Load(exs[4], o); err == nil {
		t.Fatal("truncated original without a copy loaded")
	}
}
