// Package zeroshot classifies images without training: each class is
// represented by the mean of its prompts' L2-normalised text embeddings
// (renormalised), and an image's score for a class is the cosine similarity
// between its embedding and the class's. Scores give per-class ROC AUC
// (binary and multi-label tasks) and argmax accuracy (multi-class).
package zeroshot

import (
	"errors"
	"fmt"
	"math"

	"github.com/convirt/convirt/plugins/evaluators/internal/vec"
	"github.com/convirt/convirt/plugins/evaluators/metrics"
)

// Class is one class and the embeddings of its prompts.
type Class struct {
	// Name names the class, e.g. "Pleural Effusion".
	Name string
	// Prompts holds one text embedding per prompt written for the class.
	Prompts [][]float32
}

// Scores returns the N x C matrix of cosine similarities between each image
// embedding and each class's mean prompt embedding.
func Scores(images [][]float32, classes []Class) ([][]float64, error) {
	if len(classes) == 0 {
		return nil, fmt.Errorf("zeroshot: no classes")
	}
	centres := make([][]float64, len(classes))
	dim := -1
	for c, cl := range classes {
		if len(cl.Prompts) == 0 {
			return nil, fmt.Errorf("zeroshot: class %q has no prompts", cl.Name)
		}
		var sum []float64
		for p, e := range cl.Prompts {
			if dim < 0 {
				dim = len(e)
			}
			if len(e) != dim {
				return nil, fmt.Errorf("zeroshot: class %q prompt %d has dimension %d, want %d", cl.Name, p, len(e), dim)
			}
			n, err := vec.Normalize(e, fmt.Sprintf("class %q prompt %d embedding", cl.Name, p))
			if err != nil {
				return nil, fmt.Errorf("zeroshot: %w", err)
			}
			if sum == nil {
				sum = make([]float64, dim)
			}
			for i, v := range n {
				sum[i] += v
			}
		}
		f := make([]float32, dim)
		for i, v := range sum {
			f[i] = float32(v)
		}
		var err error
		if centres[c], err = vec.Normalize(f, fmt.Sprintf("class %q mean prompt embedding", cl.Name)); err != nil {
			return nil, fmt.Errorf("zeroshot: %w", err)
		}
	}
	out := make([][]float64, len(images))
	for i, img := range images {
		if len(img) != dim {
			return nil, fmt.Errorf("zeroshot: image %d has dimension %d, prompts %d", i, len(img), dim)
		}
		n, err := vec.Normalize(img, fmt.Sprintf("image %d embedding", i))
		if err != nil {
			return nil, fmt.Errorf("zeroshot: %w", err)
		}
		out[i] = make([]float64, len(classes))
		for c, ce := range centres {
			out[i][c] = vec.Dot(n, ce)
		}
	}
	return out, nil
}

// Report holds the zero-shot metrics.
type Report struct {
	// AUC is the ROC AUC of each class's score column (NaN where the
	// labels hold one class only).
	AUC []float64
	// MeanAUC averages the defined entries of AUC.
	MeanAUC float64
	// Accuracy is the argmax accuracy (multi-class only; NaN otherwise).
	Accuracy float64
}

// EvaluateMultiLabel scores binary or multi-label targets: labels is N x C
// with 1, 0 or NaN (unknown). A class whose labels hold one class only gets
// AUC NaN and is left out of the mean; if every class is, it errors.
func EvaluateMultiLabel(scores, labels [][]float64) (*Report, error) {
	if len(scores) != len(labels) {
		return nil, fmt.Errorf("zeroshot: %d score rows but %d label rows", len(scores), len(labels))
	}
	if len(scores) == 0 {
		return nil, fmt.Errorf("zeroshot: no examples")
	}
	c := len(scores[0])
	cols := func(m [][]float64, j int) ([]float64, error) {
		out := make([]float64, len(m))
		for i, row := range m {
			if len(row) != c {
				return nil, fmt.Errorf("zeroshot: row %d has %d columns, want %d", i, len(row), c)
			}
			out[i] = row[j]
		}
		return out, nil
	}
	rep := &Report{AUC: make([]float64, c), Accuracy: math.NaN()}
	var n int
	for j := 0; j < c; j++ {
		s, err := cols(scores, j)
		if err != nil {
			return nil, err
		}
		y, err := cols(labels, j)
		if err != nil {
			return nil, err
		}
		auc, err := metrics.AUC(s, y)
		switch {
		case errors.Is(err, metrics.ErrOneClass):
			rep.AUC[j] = math.NaN()
			continue
		case err != nil:
			return nil, fmt.Errorf("zeroshot: class %d: %w", j, err)
		}
		rep.AUC[j] = auc
		rep.MeanAUC += auc
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("zeroshot: no class has both positives and negatives: %w", metrics.ErrOneClass)
	}
	rep.MeanAUC /= float64(n)
	return rep, nil
}

// EvaluateMultiClass scores a multi-class task with the true class index of
// each example: argmax accuracy, and one-vs-rest AUC per class.
func EvaluateMultiClass(scores [][]float64, truth []int) (*Report, error) {
	if len(scores) != len(truth) {
		return nil, fmt.Errorf("zeroshot: %d score rows but %d labels", len(scores), len(truth))
	}
	labels := make([][]float64, len(truth))
	for i, t := range truth {
		if len(scores[i]) == 0 || t < 0 || t >= len(scores[i]) {
			return nil, fmt.Errorf("zeroshot: example %d: class %d outside [0, %d)", i, t, len(scores[i]))
		}
		labels[i] = make([]float64, len(scores[i]))
		labels[i][t] = 1
	}
	rep, err := EvaluateMultiLabel(scores, labels)
	if err != nil {
		return nil, err
	}
	pred, err := metrics.Argmax(scores)
	if err != nil {
		return nil, fmt.Errorf("zeroshot: %w", err)
	}
	if rep.Accuracy, err = metrics.Accuracy(pred, truth); err != nil {
		return nil, fmt.Errorf("zeroshot: %w", err)
	}
	return rep, nil
}
