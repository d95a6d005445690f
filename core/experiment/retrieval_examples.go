package experiment

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/report"
	"github.com/convirt/convirt/plugins/sdk"
)

// exampleCategories is how many categories' queries a retrieval cell shows
// in the report: the first query of each of the first categories (in
// label order), the same queries for every init.
const exampleCategories = 3

// retrievalExamples writes the report's examples of one retrieval cell
// (core/report.WriteRetrievalExamples): a few queries with the top hits
// the evaluator reported (sdk.TopHitsCurve), each with a thumbnail read
// from the dataset. An evaluator that reports no top hits gets none.
func (er *evalRun) retrievalExamples(ctx context.Context, kind, init, candSplit, querySplit string, cands, queries *sdk.FeatureSet, res sdk.EvalResult) error {
	hits := map[int]sdk.Curve{}
	for _, c := range res.Curves {
		if row, ok := strings.CutPrefix(c.Name, sdk.TopHitsPrefix); ok {
			if i, err := strconv.Atoi(row); err == nil && i >= 0 && i < len(queries.IDs) && len(c.X) == len(c.Y) {
				hits[i] = c
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	ql, err := queries.Labels.Float32s()
	if err != nil {
		return err
	}
	cl, err := cands.Labels.Float32s()
	if err != nil {
		return err
	}
	nq, nc := len(queries.LabelNames), len(cands.LabelNames)
	cell := strings.NewReplacer("/", "-", " ", "-").Replace(er.e.Name + "-retrieval-" + kind + "-" + init)
	var out []report.RetrievalExample
	shown := 0
	for cat := 0; cat < nq && shown < exampleCategories; cat++ {
		q := -1
		for i := range queries.IDs {
			if ql[i*nq+cat] == 1 {
				if _, ok := hits[i]; ok {
					q = i
					break
				}
			}
		}
		if q < 0 {
			continue
		}
		name := queries.LabelNames[cat]
		cc := slices.Index(cands.LabelNames, name)
		ex := report.RetrievalExample{Title: fmt.Sprintf("%s: %s query (row %d), init %s, %s-image retrieval", name, kind, q, init, kind)}
		b, err := er.sample(ctx, querySplit, q, queries.IDs[q])
		if err != nil || b == nil {
			return err
		}
		if kind == "text" {
			if len(b.Texts) > 0 {
				ex.Text = b.Texts[0]
			}
		} else if ex.Image, err = thumbnail(b); err != nil {
			return err
		}
		c := hits[q]
		for r := range c.X {
			row := int(c.X[r])
			if row < 0 || row >= len(cands.IDs) {
				return fmt.Errorf("retrieval %s: top hit %d of query %d is candidate row %d of %d", er.e.Name, r+1, q, row, len(cands.IDs))
			}
			hb, err := er.sample(ctx, candSplit, row, cands.IDs[row])
			if err != nil || hb == nil {
				return err
			}
			img, err := thumbnail(hb)
			if err != nil {
				return err
			}
			ex.Hits = append(ex.Hits, report.RetrievalHit{Rank: r + 1, ID: cands.IDs[row], Similarity: c.Y[r],
				Relevant: cc >= 0 && cl[row*nc+cc] == 1, Image: img})
		}
		out = append(out, ex)
		shown++
	}
	return report.WriteRetrievalExamples(er.s.run.Dir(), cell, out)
}

// sample reads one sample of a split by its feature row. Rows are dataset
// indices unless the features skipped unreadable samples; then the sample
// at that index is another one, and nil (no example) is returned.
func (er *evalRun) sample(ctx context.Context, split string, row int, id string) (*sdk.Batch, error) {
	b, err := er.data.client.Batch(ctx, sdk.BatchRequest{Split: split, Indices: []int{row}})
	if err != nil {
		return nil, fmt.Errorf("retrieval examples: split %q row %d: %w", split, row, err)
	}
	if len(b.IDs) != 1 || b.IDs[0] != id {
		fmt.Fprintf(er.s.log, "retrieval examples: split %q row %d is not sample %s (unreadable samples were skipped); no examples\n", split, row, id)
		return nil, nil
	}
	return b, nil
}

// thumbnail is a one-sample batch's image as a PNG thumbnail.
func thumbnail(b *sdk.Batch) ([]byte, error) {
	if b.Images == nil || len(b.Images.Shape) != 4 || b.Images.Shape[0] != 1 {
		return nil, fmt.Errorf("retrieval examples: sample %v has no (1,C,H,W) image", b.IDs)
	}
	pix, err := b.Images.Float32s()
	if err != nil {
		return nil, err
	}
	s := b.Images.Shape
	png, err := report.Thumbnail(int(s[1]), int(s[2]), int(s[3]), pix)
	if err != nil {
		return nil, fmt.Errorf("retrieval examples: sample %v: %w", b.IDs, err)
	}
	return png, nil
}
