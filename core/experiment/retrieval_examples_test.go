package experiment

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/report"
)

// TestRetrievalExamplesShowTopHits: a retrieval cell leaves, for the
// report, the first query of each category with the evaluator's top hits:
// thumbnails that decode, ranks in order, relevance from the candidates'
// labels, and the text of a text query.
func TestRetrievalExamplesShowTopHits(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := retrievalRunIn(t, dir, "convirt", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	mine, _ := filepath.Glob(filepath.Join(dir, "e", "*", "plots", report.RetrievalDir, "*", report.RetrievalFile))
	if len(mine) != 2 {
		t.Fatalf("examples files %v, want one for image and one for text queries", mine)
	}
	for _, f := range mine {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ex []report.RetrievalExample
		if err := json.Unmarshal(b, &ex); err != nil {
			t.Fatal(err)
		}
		text := strings.Contains(f, "-text-")
		if len(ex) != len(retrievalCategories) {
			t.Fatalf("%s: %d examples, want one per category (%d)", f, len(ex), len(retrievalCategories))
		}
		for i, e := range ex {
			cat := retrievalCategories[i]
			if !strings.HasPrefix(e.Title, cat+": ") {
				t.Errorf("%s: example %d titled %q, want category %s", f, i, e.Title, cat)
			}
			if text != (e.Text == "findings of "+cat) || text == (e.Image != nil) {
				t.Errorf("%s: example %d text %q image %q", f, i, e.Text, e.Image)
			}
			if len(e.Hits) != 3 {
				t.Fatalf("%s: example %d has %d hits, want the evaluator's 3", f, i, len(e.Hits))
			}
			for r, h := range e.Hits {
				// The fake set's candidates 4c..4c+3 are category c's, and
				// its queries rank their own category's first.
				if h.Rank != r+1 || !h.Relevant || !strings.HasPrefix(h.ID, "image-candidate-") && !strings.HasPrefix(h.ID, "text-candidate-") {
					t.Errorf("%s: example %d hit %d = %+v", f, i, r, h)
				}
				checkThumb(t, h.Image)
			}
		}
	}
}

// checkThumb fails unless b is a PNG of at most report.ThumbSize a side.
func checkThumb(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() < 1 || r.Dx() > report.ThumbSize || r.Dy() > report.ThumbSize {
		t.Errorf("thumbnail %v", r)
	}
}
