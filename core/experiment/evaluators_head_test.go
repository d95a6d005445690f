package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// headEvaluator stands in for the fine-tuning evaluator on a binary task: a
// logistic-regression head on the features, stepped by Adam at the lr the
// host configures (its schema declares lr, which the host fills from the
// recipe's finetune.lr) each time Grad computes its loss; protocols predict
// (the probabilities of the one split, and its mean loss under sdk.LossKey
// when labelled), snapshot and restore (a copy of the head), and score (the
// AUC of each seed's test probabilities, split sdk.SeedSplit(seed)).
type headEvaluator struct {
	lr         float64
	w, m, v    []float64 // weights then bias; Adam's moments
	t          int
	kept       *headEvaluator
	configured bool
}

// headSchema declares the keys of the fine-tuning evaluator the host fills.
var headSchema = schema.Schema{Fields: []schema.Field{{Name: "lr", Type: schema.Float, Default: 1e-3}}}

func (e *headEvaluator) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testFinetuneHead, Version: "0.0.1", Schema: headSchema}, nil
}

func (e *headEvaluator) Configure(_ context.Context, cfg map[string]any) error {
	in, ok := intValue(cfg["in"])
	lr, lrOK := cfg["lr"].(float64)
	if !ok || in < 1 || !lrOK || cfg["task"] != sdk.TaskBinary {
		return fmt.Errorf("config %v: want a binary task, in >= 1 and lr", cfg)
	}
	*e = headEvaluator{lr: lr, w: make([]float64, in+1), m: make([]float64, in+1), v: make([]float64, in+1), configured: true}
	return nil
}

func (e *headEvaluator) Close() error { return nil }

// logit is the head's output for one row of features.
func (e *headEvaluator) logit(x []float32) float64 {
	z := e.w[len(x)]
	for j, xj := range x {
		z += e.w[j] * float64(xj)
	}
	return z
}

// bce is the logistic loss of logit z for label y, computed stably.
func bce(z, y float64) float64 { return math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z))) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func (e *headEvaluator) Grad(_ context.Context, features, labels *tensor.Tensor) (float64, *tensor.Tensor, error) {
	if !e.configured {
		return 0, nil, fmt.Errorf("Grad before Configure")
	}
	x, err := rows(features)
	if err != nil {
		return 0, nil, err
	}
	y, err := rows(labels)
	if err != nil {
		return 0, nil, err
	}
	n, d := float64(len(x)), len(e.w)-1
	var loss float64
	gw := make([]float64, d+1)
	gx := make([]float32, 0, len(x)*d)
	for i, row := range x {
		z := e.logit(row)
		loss += bce(z, float64(y[i][0])) / n
		r := (sigmoid(z) - float64(y[i][0])) / n
		for j, xj := range row {
			gw[j] += r * float64(xj)
			gx = append(gx, float32(r*e.w[j]))
		}
		gw[d] += r
	}
	e.t++
	for j, g := range gw { // Adam, beta 0.9 and 0.999
		e.m[j] = 0.9*e.m[j] + 0.1*g
		e.v[j] = 0.999*e.v[j] + 0.001*g*g
		mh, vh := e.m[j]/(1-math.Pow(0.9, float64(e.t))), e.v[j]/(1-math.Pow(0.999, float64(e.t)))
		e.w[j] -= e.lr * mh / (math.Sqrt(vh) + 1e-8)
	}
	grad, err := tensor.FromFloat32(features.Shape, gx)
	return loss, grad, err
}

func (e *headEvaluator) Evaluate(_ context.Context, req sdk.EvalRequest) (sdk.EvalResult, error) {
	switch req.Protocol {
	case sdk.ProtocolSnapshot:
		kept := *e
		kept.w, kept.m, kept.v = slices.Clone(e.w), slices.Clone(e.m), slices.Clone(e.v)
		e.kept = &kept
		return sdk.EvalResult{}, nil
	case sdk.ProtocolRestore:
		if e.kept == nil {
			return sdk.EvalResult{}, fmt.Errorf("restore without a snapshot")
		}
		*e = *e.kept
		return sdk.EvalResult{}, nil
	case sdk.ProtocolPredict:
		return e.predict(req)
	case sdk.ProtocolScore:
		return e.score(req)
	}
	return sdk.EvalResult{}, fmt.Errorf("protocol %q is not implemented", req.Protocol)
}

// predict returns the head's probabilities for the one split of req.
func (e *headEvaluator) predict(req sdk.EvalRequest) (sdk.EvalResult, error) {
	if len(req.Splits) != 1 {
		return sdk.EvalResult{}, fmt.Errorf("predict takes one split, got %d", len(req.Splits))
	}
	res := sdk.EvalResult{Metrics: map[string]float64{}}
	for name, fs := range req.Splits {
		x, err := rows(fs.Features)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		y, err := rows(fs.Labels)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		probs := make([]float32, len(x))
		var loss float64
		for i, row := range x {
			z := e.logit(row)
			probs[i] = float32(sigmoid(z))
			if y != nil {
				loss += bce(z, float64(y[i][0])) / float64(len(x))
			}
		}
		if fs.Labels != nil {
			res.Metrics[sdk.LossKey] = loss
		}
		scores, err := tensor.FromFloat32([]int64{int64(len(x)), 1}, probs)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		res.Predictions = append(res.Predictions, sdk.Predictions{Name: name, IDs: fs.IDs, Scores: scores, Targets: fs.Labels, Names: fs.LabelNames})
	}
	return res, nil
}

// score returns the AUC of each seed's split: the share of (positive,
// negative) pairs the probabilities order correctly, ties counting half.
func (e *headEvaluator) score(req sdk.EvalRequest) (sdk.EvalResult, error) {
	seeds, _ := req.Params["seeds"].([]int)
	s := sdk.Score{Metric: "auc"}
	for _, seed := range seeds {
		fs := req.Splits[sdk.SeedSplit(int64(seed))]
		if fs == nil {
			return sdk.EvalResult{}, fmt.Errorf("no split %q", sdk.SeedSplit(int64(seed)))
		}
		p, err := rows(fs.Features)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		y, err := rows(fs.Labels)
		if err != nil {
			return sdk.EvalResult{}, err
		}
		var pairs, right float64
		for i := range p {
			for j := range p {
				if y[i][0] != 1 || y[j][0] != 0 {
					continue
				}
				pairs++
				switch {
				case p[i][0] > p[j][0]:
					right++
				case p[i][0] == p[j][0]:
					right += 0.5
				}
			}
		}
		s.Seeds, s.Values = append(s.Seeds, uint64(seed)), append(s.Values, right/pairs)
	}
	for _, v := range s.Values {
		s.Mean += v / float64(len(s.Values))
	}
	return sdk.EvalResult{Scores: []sdk.Score{s}}, nil
}

// rows splits a 2-D float32 tensor into its rows (nil for nil).
func rows(t *tensor.Tensor) ([][]float32, error) {
	if t == nil {
		return nil, nil
	}
	x, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("want a 2-D tensor, got shape %v", t.Shape)
	}
	out := make([][]float32, t.Shape[0])
	for i := range out {
		out[i] = x[i*int(t.Shape[1]) : (i+1)*int(t.Shape[1])]
	}
	return out, nil
}

// cosine is the cosine similarity of a and b (0 when either is zero).
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
