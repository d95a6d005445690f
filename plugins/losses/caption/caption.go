// Package caption holds the ConVIRT paper's captioning baselines (Table
// 1) as loss plugins: an image-captioning decoder, trained to generate the
// paired report from the image encoder's spatial features, whose loss
// (teacher-forced cross-entropy on the report's tokens) trains the image
// encoder through the gradient it returns for those features. The decoder
// lives in the loss plugin, with its own parameters and optimiser, saved
// and restored with the run's checkpoints. caption-lstm is Show, Attend
// and Tell's LSTM with additive attention over the regions;
// caption-transformer a Transformer decoder with causal self-attention and
// cross-attention over them. Only the image encoder is evaluated after
// pretraining; no text encoder is needed.
package caption

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Metric names reported in Result.Metrics.
const (
	MetricTokens   = "tokens"   // target tokens the loss averaged over
	MetricAccuracy = "accuracy" // teacher-forced next-token accuracy
)

// decoder maps regions [B, R, C] and the teacher-forced input ids [B, L]
// to next-token logits [B, L, V], computing in the regions' dtype.
type decoder interface {
	logits(s *torchx.Scope, regions, ids *ts.Tensor) (*ts.Tensor, error)
}

// Loss is a configured captioning loss: tokeniser, decoder, parameters.
type Loss struct {
	cfg Config
	tok *wordpiece.Tokenizer
	dec decoder
	// Params are the decoder's parameters with their optimiser; they
	// serve Step, State and SetState.
	*lossparams.Params
}

// newLoss validates cfg, loads the vocabulary and builds the decoder with
// build under the parameters' root.
func newLoss(name string, cfg Config, build func(p *nn.Path, cfg Config, vocab int64) (decoder, error)) (*Loss, error) {
	if err := schema.ValidateAs(name, cfg); err != nil {
		return nil, err
	}
	tok, err := cfg.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l := &Loss{cfg: cfg, tok: tok}
	l.Params, err = lossparams.New(cfg.Config, func(root *nn.Path) error {
		l.dec, err = build(root.Sub("decoder"), cfg, int64(tok.VocabSize()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

// Needs implements lossplugin.LocalLoss.
func (l *Loss) Needs() *sdk.LossNeeds { return l.cfg.Needs() }

// Compute refuses: a captioning loss needs the image's map and the texts.
func (l *Loss) Compute(v, u *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, fmt.Errorf("captioning loss: needs the image's %q map and the reports (ComputeLocal)", l.cfg.ImageOutput)
}

// ComputeLocal is the teacher-forced cross-entropy of the reports' next
// tokens given the image's map, averaged over the target tokens (every
// token after [CLS], [SEP] included), with its gradient for the map.
func (l *Loss) ComputeLocal(in sdk.LocalInputs) (sdk.LossResult, error) {
	img, err := l.cfg.Take(in)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("captioning loss: %w", err)
	}
	if int64(len(in.Texts)) != img.Shape[0] {
		return sdk.LossResult{}, fmt.Errorf("captioning loss: %d reports for %d images", len(in.Texts), img.Shape[0])
	}
	enc, err := l.tok.Encode(in.Texts, l.cfg.MaxLen)
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("captioning loss: %w", err)
	}
	var acc float64
	var n int
	loss, grads, err := l.Backprop([]*tensor.Tensor{img}, func(s *torchx.Scope, x []*ts.Tensor) (loss *ts.Tensor, err error) {
		loss, acc, n, err = l.forward(s, x[0], enc)
		return loss, err
	})
	if err != nil {
		return sdk.LossResult{}, fmt.Errorf("captioning loss: %w", err)
	}
	return sdk.LossResult{Loss: loss, ImageGrads: map[string]*tensor.Tensor{l.cfg.ImageOutput: grads[0]},
		Metrics: map[string]float64{MetricTokens: float64(n), MetricAccuracy: acc},
		Chance:  math.Log(float64(l.tok.VocabSize()))}, nil // a uniform next-token guess
}

// forward builds the mean cross-entropy over the target tokens, and
// returns the teacher-forced accuracy and the number of targets.
func (l *Loss) forward(s *torchx.Scope, img *ts.Tensor, enc *wordpiece.Batch) (*ts.Tensor, float64, int, error) {
	size := img.MustSize()
	b, c, r := size[0], size[1], size[2]*size[3]
	regions, err := lossparams.Chain(s, img,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Reshape([]int64{b, c, r}, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Permute([]int64{0, 2, 1}, false) }) // [B, R, C]
	if err != nil {
		return nil, 0, 0, err
	}
	// Inputs are tokens 0..L-2, targets 1..L-1.
	L := enc.L
	in, tgt, mask := make([]int64, 0, enc.N*(L-1)), make([]int64, 0, enc.N*(L-1)), make([]float64, 0, enc.N*(L-1))
	n := 0
	for i := range enc.N {
		for j := range L - 1 {
			in = append(in, enc.IDs[i*L+j])
			tgt = append(tgt, enc.IDs[i*L+j+1])
			m := float64(enc.Mask[i*L+j+1])
			mask = append(mask, m)
			n += int(m)
		}
	}
	shape := []int64{int64(enc.N), int64(L - 1)}
	ids, err := s.Keep(ts.NewTensorFromData(in, shape))
	if err != nil {
		return nil, 0, 0, err
	}
	targets, err := s.Keep(ts.NewTensorFromData(tgt, append(shape, 1)))
	if err != nil {
		return nil, 0, 0, err
	}
	mt, err := tensor.FromFloat64s(coreDType(img.DType()), shape, mask)
	if err != nil {
		return nil, 0, 0, err
	}
	weights, err := s.FromCore(mt, false)
	if err != nil {
		return nil, 0, 0, err
	}
	logits, err := l.dec.logits(s, regions, ids) // [B, L-1, V]
	if err != nil {
		return nil, 0, 0, err
	}
	nll, err := lossparams.Chain(s, logits,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.LogSoftmax(-1, x.DType(), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Gather(2, targets, false, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Squeeze(false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Mul(weights, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Sum(x.DType(), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MulScalar(s.Scalar(-1/float64(max(n, 1))), false) })
	if err != nil {
		return nil, 0, 0, fmt.Errorf("cross-entropy: %w", err)
	}
	acc, err := accuracy(s, logits, tgt, mask)
	return nll, acc, n, err
}

// accuracy is the fraction of target tokens the logits rank first.
func accuracy(s *torchx.Scope, logits *ts.Tensor, tgt []int64, mask []float64) (float64, error) {
	am, err := s.Keep(logits.Argmax([]int64{-1}, false, false))
	if err != nil {
		return 0, err
	}
	amf, err := s.Keep(am.Totype(gotch.Double, false))
	if err != nil {
		return 0, err
	}
	p, err := s.Float64s(amf)
	if err != nil {
		return 0, err
	}
	right, total := 0.0, 0.0
	for i, m := range mask {
		if m == 0 {
			continue
		}
		total++
		if int64(p[i]) == tgt[i] {
			right++
		}
	}
	if total == 0 {
		return 0, nil
	}
	return right / total, nil
}

// coreDType is the SDK dtype of a float gotch dtype.
func coreDType(d gotch.DType) tensor.DType {
	if d == gotch.Double {
		return tensor.Float64
	}
	return tensor.Float32
}
