// Package infonce holds the bidirectional InfoNCE computation shared by the
// ConVIRT and CLIP losses: L2-normalise both embedding batches, scale their
// cosine similarities, and mix the row-wise (image-to-text) and column-wise
// (text-to-image) cross-entropies with the diagonal as target. It is the one
// definition of that loss: the loss plugins, the in-process reference of the
// ConVIRT benchmark and the split-step tests use it (ConVIRT builds it in the
// caller's graph), and a new contrastive loss should too (docs/plugins.md).
package infonce

import (
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch/ts"
)

// normEps is F.normalize's default epsilon.
const normEps = 1e-12

// CheckPair checks that v and u are two float N x d batches of the same
// dtype and shape with N >= 1, and returns N.
func CheckPair(v, u *tensor.Tensor) (int64, error) {
	if v == nil || u == nil {
		return 0, fmt.Errorf("embeddings: nil tensor")
	}
	for name, t := range map[string]*tensor.Tensor{"v (image)": v, "u (text)": u} {
		if err := t.Validate(); err != nil {
			return 0, fmt.Errorf("embeddings %s: %w", name, err)
		}
		if len(t.Shape) != 2 {
			return 0, fmt.Errorf("embeddings %s: want a 2-d N x d tensor, have shape %v", name, t.Shape)
		}
		if _, err := torchx.GoDType(t.DType); err != nil {
			return 0, fmt.Errorf("embeddings %s: %w", name, err)
		}
	}
	if v.DType != u.DType {
		return 0, fmt.Errorf("embeddings: v is %s but u is %s", v.DType, u.DType)
	}
	if v.Shape[0] != u.Shape[0] || v.Shape[1] != u.Shape[1] {
		return 0, fmt.Errorf("embeddings: v has shape %v but u has %v", v.Shape, u.Shape)
	}
	if v.Shape[0] < 1 || v.Shape[1] < 1 {
		return 0, fmt.Errorf("embeddings: empty batch, shape %v", v.Shape)
	}
	return v.Shape[0], nil
}

// Forward builds the graph of the loss. scale multiplies the cosine
// similarities (1/tau for ConVIRT, exp(logit_scale) for CLIP) and must be a
// one-element tensor of v's dtype. It returns the scalar loss, the N x N logits
// S = scale * norm(v) norm(u)^T, and the per-example losses of both
// directions (each of length N).
func Forward(s *torchx.Scope, v, u, scale *ts.Tensor, lambda float64) (loss, logits, lvu, luv *ts.Tensor, err error) {
	cos, err := Cosines(s, v, u)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if logits, err = s.Keep(cos.Mul(scale, false)); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("scale similarities: %w", err)
	}
	if lvu, err = diagNLL(s, logits, 1); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("image-to-text loss: %w", err)
	}
	if luv, err = diagNLL(s, logits, 0); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("text-to-image loss: %w", err)
	}
	a, err := s.Keep(lvu.MulScalar(s.Scalar(lambda), false))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	b, err := s.Keep(luv.MulScalar(s.Scalar(1-lambda), false))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	sum, err := s.Keep(a.Add(b, false))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if loss, err = s.Keep(sum.Mean(v.DType(), false)); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("mean: %w", err)
	}
	return loss, logits, lvu, luv, nil
}

// Cosines is the N x N matrix of cosine similarities norm(v) norm(u)^T of
// two N x d batches, rows L2-normalised as F.normalize does.
func Cosines(s *torchx.Scope, v, u *ts.Tensor) (*ts.Tensor, error) {
	vn, err := normalize(s, v)
	if err != nil {
		return nil, err
	}
	un, err := normalize(s, u)
	if err != nil {
		return nil, err
	}
	ut, err := s.Keep(un.T(false))
	if err != nil {
		return nil, fmt.Errorf("transpose: %w", err)
	}
	cos, err := s.Keep(vn.Mm(ut, false))
	if err != nil {
		return nil, fmt.Errorf("similarities: %w", err)
	}
	return cos, nil
}

// SymmetricCE is the row-wise (image-to-text) plus the column-wise
// (text-to-image) cross-entropy of square logits with the diagonal as
// target, each a mean over the batch: GLoRIA's global and local losses
// (Forward weighs the two directions by lambda instead).
func SymmetricCE(s *torchx.Scope, logits *ts.Tensor) (*ts.Tensor, error) {
	var total *ts.Tensor
	for _, dim := range []int64{1, 0} {
		nll, err := diagNLL(s, logits, dim)
		if err != nil {
			return nil, err
		}
		m, err := s.Keep(nll.Mean(nll.DType(), false))
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = m
		} else if total, err = s.Keep(total.Add(m, false)); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// normalize divides each row by max(||row||_2, eps), as F.normalize does.
func normalize(s *torchx.Scope, x *ts.Tensor) (*ts.Tensor, error) {
	n, err := s.Keep(x.NormScalaroptDim(s.Scalar(2), []int64{1}, true, false))
	if err != nil {
		return nil, fmt.Errorf("row norms: %w", err)
	}
	nc, err := s.Keep(n.ClampMin(s.Scalar(normEps), false))
	if err != nil {
		return nil, fmt.Errorf("clamp norms: %w", err)
	}
	y, err := s.Keep(x.Div(nc, false))
	if err != nil {
		return nil, fmt.Errorf("normalise: %w", err)
	}
	return y, nil
}

// diagNLL is -log_softmax(logits, dim)[i, i] for each i: the cross-entropy of
// rows (dim 1) or columns (dim 0) with the diagonal as target.
func diagNLL(s *torchx.Scope, logits *ts.Tensor, dim int64) (*ts.Tensor, error) {
	ls, err := s.Keep(logits.LogSoftmax(dim, logits.DType(), false))
	if err != nil {
		return nil, err
	}
	d, err := s.Keep(ls.Diagonal(0, 0, 1, false))
	if err != nil {
		return nil, err
	}
	return s.Keep(d.Neg(false))
}

// Accuracies returns the top-1 retrieval accuracy of both directions from the
// N x N logits, row-major: the fraction of rows whose largest entry is on the
// diagonal (image-to-text) and the same for columns (text-to-image). Ties count
// as misses unless the diagonal is the first maximum.
func Accuracies(logits []float64, n int) (i2t, t2i float64) {
	var r, c int
	for i := 0; i < n; i++ {
		best, bestRow, bestCol := math.Inf(-1), -1, -1
		for j := 0; j < n; j++ {
			if x := logits[i*n+j]; x > best {
				best, bestRow = x, j
			}
		}
		best = math.Inf(-1)
		for j := 0; j < n; j++ {
			if x := logits[j*n+i]; x > best {
				best, bestCol = x, j
			}
		}
		if bestRow == i {
			r++
		}
		if bestCol == i {
			c++
		}
	}
	return float64(r) / float64(n), float64(c) / float64(n)
}
