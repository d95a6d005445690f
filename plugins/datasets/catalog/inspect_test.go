package catalog

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspect counts every split's labels as the reader gives them, decodes
// the images when asked, and reports a split that cannot be opened as its
// own problem when several are inspected, as an error when one is.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(corpus, "CheXpert-v1.0-small")
	all, err := Inspect(ctx, "chexpert", root, "", true)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Lookup("chexpert")
	if len(all) != len(d.Splits) {
		t.Fatalf("%d inspections for splits %v", len(all), d.Splits)
	}
	for i, in := range all {
		src, err := Open("chexpert", root, d.Splits[i])
		if err != nil {
			t.Fatal(err)
		}
		pos, ign := map[string]int{}, map[string]int{}
		for j := range src.Len() {
			ex, err := src.Example(j)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range ex.Labels {
				if math.IsNaN(float64(v)) {
					ign[src.LabelNames()[k]]++
				} else if v == 1 {
					pos[src.LabelNames()[k]]++
				}
			}
		}
		if in.Split != d.Splits[i] || in.Examples != src.Len() || in.Examples == 0 || len(in.Problems) != 0 {
			t.Errorf("split %s: %+v", d.Splits[i], in)
		}
		for _, l := range src.LabelNames() {
			if in.Positives[l] != pos[l] || in.Ignored[l] != ign[l] {
				t.Errorf("split %s label %s: positive %d ignored %d, want %d and %d", in.Split, l, in.Positives[l], in.Ignored[l], pos[l], ign[l])
			}
		}
		n := 0
		for _, c := range in.Sizes {
			n += c
		}
		if n != in.Examples {
			t.Errorf("split %s: %d images decoded of %d (sizes %v)", in.Split, n, in.Examples, in.Sizes)
		}
	}

	missing := filepath.Join(t.TempDir(), "nope")
	all, err = Inspect(ctx, "chexpert", missing, "", false)
	if err != nil || len(all) != len(d.Splits) || len(all[0].Problems) != 1 || all[0].Problems[0].Path != missing {
		t.Errorf("missing root, every split: %v, %+v", err, all)
	}
	if _, err := Inspect(ctx, "chexpert", missing, "train", false); err == nil {
		t.Error("missing root, one split: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Inspect(cancelled, "chexpert", root, "train", false); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
}
