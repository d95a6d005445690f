package gloria

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/losses/lossparams"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/sugarme/gotch/ts"
)

// localLogits is temp3 * S, [B images, B reports].
func (l *Loss) localLogits(s *torchx.Scope, img, tok, valid *ts.Tensor) (*ts.Tensor, error) {
	c := l.cfg
	size := img.MustSize()
	b, ch, regions := size[0], size[1], size[2]*size[3]
	dt := img.DType()
	// Regions c_r: [B, R, D].
	ctx, err := lossparams.Chain(s, img,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Reshape([]int64{b, ch, regions}, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Permute([]int64{0, 2, 1}, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return lossparams.Linear(s, l.proj, x) })
	if err != nil {
		return nil, fmt.Errorf("project regions: %w", err)
	}
	words, err := s.Keep(tok.Unsqueeze(1, false)) // [Bi, 1, T, D]
	if err != nil {
		return nil, err
	}
	pad, err := lossparams.Chain(s, valid, // [Bi, 1, T, 1], true for a word left out
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Eq(s.Scalar(0), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Unsqueeze(1, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Unsqueeze(-1, false) })
	if err != nil {
		return nil, err
	}
	// a_tr: softmax over the words of each report, per image and region.
	attn, err := lossparams.Chain(s, ctx,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Permute([]int64{0, 2, 1}, false) }, // [B, D, R]
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Unsqueeze(0, false) },              // [1, Bb, D, R]
		func(x *ts.Tensor) (*ts.Tensor, error) { return words.Matmul(x, false) },             // [Bi, Bb, T, R]
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MaskedFill(pad, s.Scalar(math.Inf(-1)), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Softmax(2, dt, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MulScalar(s.Scalar(c.Temp1), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Softmax(3, dt, false) },
		// Padded words' rows are uniform: finite, and left out below.
	)
	if err != nil {
		return nil, fmt.Errorf("attention: %w", err)
	}
	ctx4, err := s.Keep(ctx.Unsqueeze(0, false)) // [1, Bb, R, D]
	if err != nil {
		return nil, err
	}
	z, err := s.Keep(attn.Matmul(ctx4, false)) // [Bi, Bb, T, D]
	if err != nil {
		return nil, err
	}
	cos, err := cosine(s, words, z) // [Bi, Bb, T]
	if err != nil {
		return nil, err
	}
	vw, err := s.Keep(valid.Unsqueeze(1, false)) // [Bi, 1, T]
	if err != nil {
		return nil, err
	}
	sim, err := lossparams.Chain(s, cos,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MulScalar(s.Scalar(c.Temp2), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Exp(false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Mul(vw, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.SumDimIntlist([]int64{2}, false, dt, false) }) // [Bi, Bb]
	if err != nil {
		return nil, err
	}
	if c.Agg == "mean" {
		count, err := s.Keep(vw.SumDimIntlist([]int64{2}, false, dt, false)) // [Bi, 1]
		if err != nil {
			return nil, err
		}
		if sim, err = s.Keep(sim.Div(count, false)); err != nil {
			return nil, err
		}
	}
	return lossparams.Chain(s, sim,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Log(false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.MulScalar(s.Scalar(c.Temp3), false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.T(false) }) // images as rows
}

// cosine is the cosine similarity of a and b along their last axis, the
// product of norms clamped at 1e-8 as GLoRIA's.
func cosine(s *torchx.Scope, a, b *ts.Tensor) (*ts.Tensor, error) {
	dt := a.DType()
	prod, err := s.Keep(a.Mul(b, false))
	if err != nil {
		return nil, err
	}
	num, err := s.Keep(prod.SumDimIntlist([]int64{-1}, false, dt, false))
	if err != nil {
		return nil, err
	}
	na, err := s.Keep(a.NormScalaroptDim(s.Scalar(2), []int64{-1}, false, false))
	if err != nil {
		return nil, err
	}
	nb, err := s.Keep(b.NormScalaroptDim(s.Scalar(2), []int64{-1}, false, false))
	if err != nil {
		return nil, err
	}
	den, err := lossparams.Chain(s, na,
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.Mul(nb, false) },
		func(x *ts.Tensor) (*ts.Tensor, error) { return x.ClampMin(s.Scalar(1e-8), false) })
	if err != nil {
		return nil, err
	}
	return s.Keep(num.Div(den, false))
}
