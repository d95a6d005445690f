package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
)

// retrievalProtocol ranks candidates for image and text queries
// (docs/evaluators.md, protocol retrieval).
var retrievalProtocol = imageProtocol{onePerInit{}, (*evalRun).retrieval}

// retrievalOutput is the representation each retrieval protocol ranks by,
// the same for every init so that their rows are comparable.
//
// Image-image retrieval ("image") compares the image encoder's pooled
// features (sdk.OutputFeatures, before the projection head): every init
// has trained or inherited them, whereas only ConVIRT pretraining trains
// the projection head, so ranking by projections would send random and
// ImageNet encoders through an untrained random MLP. Text-image retrieval
// ("text") needs the shared space of the two projection heads, which
// exists only where they were trained together (textRetrievalInit).
var retrievalOutput = map[string]string{"image": sdk.OutputFeatures, "text": sdk.OutputProjection}

// textRetrievalInit is the one init whose image and text projection heads
// were trained together, the only one text-image retrieval is run for.
const textRetrievalInit = "convirt"

// retrieval ranks candidate images for image queries and, when the recipe
// has a text encoder and init is textRetrievalInit, for text queries, each
// in the representation retrievalOutput names.
func (er *evalRun) retrieval(ctx context.Context, init string, img encoder) error {
	names, err := er.data.client.Splits(ctx)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	ran, skippedText := false, false
	for _, q := range []string{"image", "text"} {
		cand, query := q+"-candidate", q+"-query"
		if !has[cand] || !has[query] || (q == "text" && er.s.r.TextEncoder == nil) {
			continue
		}
		if q == "text" && init != textRetrievalInit {
			// The image and text projection heads of this init were not
			// trained together: their similarities mean nothing.
			fmt.Fprintf(er.s.log, "retrieval %s: no text-image retrieval for init %s (its image and text projection heads were not trained together; only init %s has a shared space)\n",
				er.e.Name, init, textRetrievalInit)
			skippedText = true
			continue
		}
		out := retrievalOutput[q]
		c, err := er.s.features(ctx, img, er.data, cand, out, false)
		if err != nil {
			return err
		}
		qenc := img
		if q == "text" {
			if qenc, err = er.encoder(ctx, "text", init); err != nil {
				return err
			}
		}
		qs, err := er.s.features(ctx, qenc, er.data, query, out, q == "text")
		if q == "text" {
			qenc.client.Close()
		}
		if err != nil {
			return err
		}
		res, err := er.ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRetrieval,
			Splits: map[string]*sdk.FeatureSet{sdk.SplitCandidates: c, sdk.SplitQueries: qs}, Params: map[string]any{}})
		if err != nil {
			return fmt.Errorf("%s queries: %w", q, err)
		}
		if err := er.record(ctx, "retrieval-"+q, init, 1, res, ""); err != nil {
			return err
		}
		if err := er.retrievalExamples(ctx, q, init, cand, query, c, qs, res); err != nil {
			return err
		}
		ran = true
	}
	switch {
	case !ran && skippedText:
		return fmt.Errorf("dataset %q has only text-candidate/text-query splits, and text-image retrieval needs init %s (the one whose image and text projection heads were trained together)", er.data.plugin, textRetrievalInit)
	case !ran:
		return fmt.Errorf("dataset %q has no image-candidate/image-query or text-candidate/text-query splits", er.data.plugin)
	}
	er.bar.Add(1)
	return nil
}
