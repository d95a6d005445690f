package train

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// sentences is a paired dataset whose pair i has a text of 1 + i*7%23 words
// and an image and a label that both hold i, so a test can tell that a
// regrouped pair kept its own image and label.
type sentences struct{ n int }

func sentenceWords(i int) int { return 1 + i*7%23 }

func (d sentences) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: d.n, Task: sdk.TaskPaired}, nil
}

func (d sentences) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{LabelNames: []string{"i"}}
	var img, lab []float32
	for _, i := range req.Indices {
		b.IDs = append(b.IDs, strconv.Itoa(i))
		b.Texts = append(b.Texts, strings.TrimSpace(strings.Repeat("word ", sentenceWords(i))))
		img = append(img, float32(i), float32(-i))
		lab = append(lab, float32(i))
	}
	n := int64(len(req.Indices))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, 2}, img); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, 1}, lab)
	return b, err
}

// epochBatches reads the prefetcher's batches from (epoch, pos) to the end
// of epoch 1 of a 60-pair split in batches of 6 (10 per epoch).
func epochBatches(t *testing.T, buckets, epoch, pos int) []*sdk.Batch {
	t.Helper()
	cfg := Config{BatchSize: 6, Seed: 3, TrainSplit: "train", Prefetch: 1, LengthBuckets: buckets}
	pf := newPrefetcher(context.Background(), sentences{60}, cfg, 60, 10, epoch, pos)
	defer pf.stop()
	var out []*sdk.Batch
	for range (2-epoch)*10 - pos {
		b, err := pf.next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkPairs checks that every pair of b kept its own image and label.
func checkPairs(t *testing.T, b *sdk.Batch) {
	t.Helper()
	img, _ := b.Images.Float32s()
	lab, _ := b.Labels.Float32s()
	for r, id := range b.IDs {
		i, _ := strconv.Atoi(id)
		if img[2*r] != float32(i) || img[2*r+1] != float32(-i) || lab[r] != float32(i) || TextLength(b.Texts[r]) != sentenceWords(i) {
			t.Fatalf("pair %s at row %d: image %v, label %v, text of %d words", id, r, img[2*r:2*r+2], lab[r], TextLength(b.Texts[r]))
		}
	}
}

func TestLengthBucketing(t *testing.T) {
	plain, bucketed := epochBatches(t, 0, 0, 0), epochBatches(t, 5, 0, 0)
	padded := func(bs []*sdk.Batch) (tokens int) {
		for _, b := range bs {
			most := 0
			for _, s := range b.Texts {
				most = max(most, TextLength(s))
			}
			tokens += most * len(b.Texts)
		}
		return tokens
	}
	for e := range 2 {
		var seen []int
		for _, b := range bucketed[e*10 : (e+1)*10] {
			if len(b.IDs) != 6 {
				t.Fatalf("batch of %d pairs, want 6", len(b.IDs))
			}
			checkPairs(t, b)
			for _, id := range b.IDs {
				i, _ := strconv.Atoi(id)
				seen = append(seen, i)
			}
		}
		slices.Sort(seen)
		if len(slices.Compact(seen)) != 60 {
			t.Fatalf("epoch %d saw %d distinct pairs, want all 60 once", e, len(slices.Compact(seen)))
		}
	}
	// Within a window of 5 batches the length ranges do not overlap.
	for w := 0; w < 20; w += 5 {
		type span struct{ lo, hi int }
		var spans []span
		for _, b := range bucketed[w : w+5] {
			s := span{1 << 30, 0}
			for _, x := range b.Texts {
				s.lo, s.hi = min(s.lo, TextLength(x)), max(s.hi, TextLength(x))
			}
			spans = append(spans, s)
		}
		slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
		for i := 1; i < len(spans); i++ {
			if spans[i].lo < spans[i-1].hi {
				t.Fatalf("window at batch %d: length ranges overlap: %v", w, spans)
			}
		}
	}
	p, q := padded(plain), padded(bucketed)
	if q*10 > p*8 {
		t.Errorf("padded tokens: %d bucketed vs %d plain; want at least 20%% fewer", q, p)
	}
	t.Logf("padded tokens over 2 epochs: plain %d, bucketed %d (%.0f%%)", p, q, 100*float64(q)/float64(p))
	// A resumed prefetcher, mid-window, continues with the same batches.
	resumed := epochBatches(t, 5, 1, 3)
	for i, b := range resumed {
		if !slices.Equal(b.IDs, bucketed[13+i].IDs) {
			t.Fatalf("resumed batch %d: %v, uninterrupted %v", i, b.IDs, bucketed[13+i].IDs)
		}
	}
}

func TestRegroupRejectsMismatchedBatches(t *testing.T) {
	d := sentences{12}
	a, _ := d.Batch(context.Background(), sdk.BatchRequest{Indices: []int{0, 1, 2}})
	b, _ := d.Batch(context.Background(), sdk.BatchRequest{Indices: []int{3, 4, 5}})
	noImages := *b
	noImages.Images = nil
	wide := *b
	wide.Images, _ = tensor.FromFloat32([]int64{3, 1, 1, 3}, make([]float32, 9))
	short := *b
	short.Texts = short.Texts[:2]
	for name, w := range map[string][]*sdk.Batch{"missing images": {a, &noImages}, "image shapes": {a, &wide}, "texts": {a, &short}} {
		if _, err := regroup(w, windowRNG(1, 0, 0)); err == nil {
			t.Errorf("%s: regroup succeeded", name)
		}
	}
}
