package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// RetrievalDir is the folder under plots/ holding, per retrieval cell, a
// few example queries with their top hits and thumbnails (RetrievalFile):
// one file per cell, so a tracker receives one artifact, not one per image.
const (
	RetrievalDir  = "retrieval"
	RetrievalFile = "examples.json"
)

// RetrievalExample is one query with its top-ranked candidates.
type RetrievalExample struct {
	Title string `json:"title"` // e.g. "Edema: image query 3 (init convirt, image-image)"
	Text  string `json:"text,omitempty"`
	// Image is the query's thumbnail (PNG, Thumbnail); nil for a text
	// query.
	Image []byte         `json:"image_png,omitempty"`
	Hits  []RetrievalHit `json:"hits"`
}

// RetrievalHit is one ranked candidate.
type RetrievalHit struct {
	Rank       int     `json:"rank"` // 1 = most similar
	ID         string  `json:"id"`
	Similarity float64 `json:"similarity"`
	// Relevant is whether the candidate is labelled 1 for the query's
	// category (what precision@k counts).
	Relevant bool   `json:"relevant"`
	Image    []byte `json:"image_png"` // thumbnail (PNG, Thumbnail)
}

// WriteRetrievalExamples writes one cell's examples to
// plots/retrieval/<cell>/examples.json under runDir.
func WriteRetrievalExamples(runDir, cell string, ex []RetrievalExample) error {
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return fmt.Errorf("retrieval examples %s: %w", cell, err)
	}
	return atomicfile.Write(filepath.Join(runDir, runs.PlotsDir, RetrievalDir, cell, RetrievalFile), append(b, '\n'), 0o644)
}

// readRetrievalExamples reads every cell's examples of a run, in cell
// order.
func readRetrievalExamples(runDir string) ([]RetrievalExample, error) {
	files, err := filepath.Glob(filepath.Join(runDir, runs.PlotsDir, RetrievalDir, "*", RetrievalFile))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []RetrievalExample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var ex []RetrievalExample
		if err := json.Unmarshal(b, &ex); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, ex...)
	}
	return out, nil
}

// examples embeds the examples' thumbnails for the page.
func examples(runDir string, exs []RetrievalExample) ([]exampleData, error) {
	var out []exampleData
	for _, e := range exs {
		d := exampleData{Title: e.Title, Text: e.Text}
		var err error
		if e.Image != nil {
			if d.Src, err = pngURI(e.Image); err != nil {
				return nil, fmt.Errorf("report %s: retrieval example %q: %w", runDir, e.Title, err)
			}
		}
		for _, h := range e.Hits {
			src, err := pngURI(h.Image)
			if err != nil {
				return nil, fmt.Errorf("report %s: retrieval example %q: hit %d: %w", runDir, e.Title, h.Rank, err)
			}
			mark := "✗"
			if h.Relevant {
				mark = "✓"
			}
			d.Hits = append(d.Hits, hitData{Src: src, Relevant: h.Relevant, ID: h.ID,
				Caption: fmt.Sprintf("#%d cos %.3f %s", h.Rank, h.Similarity, mark)})
		}
		out = append(out, d)
	}
	return out, nil
}

// ThumbSize is the longest side of a thumbnail, in pixels.
const ThumbSize = 96

// Thumbnail encodes a (C,H,W) image tensor's pixels (normalised, any
// range) as a PNG of at most ThumbSize pixels a side, box-averaged: one
// channel as gray, three as colour, stretched to the image's own minimum
// and maximum so a normalised image is visible.
func Thumbnail(c, h, w int, pix []float32) ([]byte, error) {
	if (c != 1 && c != 3) || h <= 0 || w <= 0 || len(pix) != c*h*w {
		return nil, fmt.Errorf("thumbnail: want a (1 or 3, H, W) image, got %d values for (%d,%d,%d)", len(pix), c, h, w)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range pix {
		if !math.IsNaN(float64(v)) {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
	}
	scale := 0.0
	if hi > lo {
		scale = 255 / (hi - lo)
	}
	oh, ow := h, w
	if m := max(h, w); m > ThumbSize {
		oh, ow = max(1, h*ThumbSize/m), max(1, w*ThumbSize/m)
	}
	img := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	// box average of channel ch over the source pixels of output pixel (oy, ox)
	at := func(ch, oy, ox int) uint8 {
		y0, x0 := oy*h/oh, ox*w/ow
		y1, x1 := max(y0+1, (oy+1)*h/oh), max(x0+1, (ox+1)*w/ow)
		var sum float64
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if v := float64(pix[(ch*h+y)*w+x]); !math.IsNaN(v) {
					sum += v
					n++
				}
			}
		}
		if n == 0 {
			return 0
		}
		return uint8(math.Round(math.Max(0, math.Min(255, (sum/float64(n)-lo)*scale))))
	}
	for y := range oh {
		for x := range ow {
			r := at(0, y, x)
			g, b := r, r
			if c == 3 {
				g, b = at(1, y, x), at(2, y, x)
			}
			img.Set(x, y, color.NRGBA{R: r, G: g, B: b, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

// pngURI is a PNG as a data URI; the bytes must decode as a PNG, so a
// damaged examples file fails the report rather than showing a broken
// image.
func pngURI(b []byte) (template.URL, error) {
	if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
		return "", fmt.Errorf("thumbnail: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)), nil
}
