// Package linear trains the linear-probe classifier of the paper's linear
// evaluation protocol on fixed (frozen-encoder) features: L2-regularised
// logistic regression, one linear layer with sigmoid + binary cross-entropy
// per label (binary and multi-label tasks, unknown labels ignored) or
// softmax cross-entropy (multi-class), features standardised with the
// training split's statistics, fitted full-batch by L-BFGS to convergence
// for each strength of a small log grid, the strength chosen on the
// validation loss (as scikit-learn's LogisticRegressionCV does). It is plain
// Go (gonum's float32 BLAS for the matrix products).
package linear

import (
	"fmt"
	"math"
)

// Task is the kind of classification problem.
type Task string

// Tasks.
const (
	Binary     Task = "binary"     // one 0/1 label per example
	MultiLabel Task = "multilabel" // several independent 0/1 labels
	MultiClass Task = "multiclass" // one class index per example
)

// Matrix is a dense row-major float32 matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// NewMatrix wraps data (not copied) as a rows x cols matrix.
func NewMatrix(rows, cols int, data []float32) (Matrix, error) {
	m := Matrix{Rows: rows, Cols: cols, Data: data}
	return m, m.check()
}

func (m Matrix) check() error {
	if m.Rows < 0 || m.Cols < 0 || len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("linear: matrix %dx%d has %d values", m.Rows, m.Cols, len(m.Data))
	}
	return nil
}

// Row returns row i (shared with m).
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Split is one split of a dataset: features and targets for the same rows.
type Split struct {
	// X holds the N x D features.
	X Matrix
	// Y holds the N x L targets of binary (L = 1) and multi-label tasks:
	// 1 positive, 0 negative, NaN unknown (ignored by the loss).
	Y Matrix
	// Class holds the N class indices of multi-class tasks.
	Class []int
	// Names optionally names the label columns or classes, for messages.
	Names []string
}

// name is column c's name for messages: its Names entry, or "column c".
func (s Split) name(c int) string {
	if c < len(s.Names) {
		return fmt.Sprintf("%q", s.Names[c])
	}
	return fmt.Sprintf("column %d", c)
}

// check validates s for the task with k outputs and d features; empty
// splits are allowed only when allowEmpty.
func (s Split) check(name string, task Task, k, d int, allowEmpty bool) error {
	if err := s.X.check(); err != nil {
		return fmt.Errorf("%s features: %w", name, err)
	}
	if s.X.Rows == 0 && !allowEmpty {
		return fmt.Errorf("%s split has no examples", name)
	}
	if d >= 0 && s.X.Rows > 0 && s.X.Cols != d {
		return fmt.Errorf("%s features have %d columns, want %d", name, s.X.Cols, d)
	}
	for i, x := range s.X.Data {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%s features: row %d column %d is %v", name, i/max(s.X.Cols, 1), i%max(s.X.Cols, 1), x)
		}
	}
	switch task {
	case Binary, MultiLabel:
		if err := s.Y.check(); err != nil {
			return fmt.Errorf("%s labels: %w", name, err)
		}
		if s.Y.Rows != s.X.Rows || (s.X.Rows > 0 && s.Y.Cols != k) {
			return fmt.Errorf("%s labels are %dx%d, want %dx%d", name, s.Y.Rows, s.Y.Cols, s.X.Rows, k)
		}
		for i, y := range s.Y.Data {
			if y != 0 && y != 1 && !math.IsNaN(float64(y)) {
				return fmt.Errorf("%s labels: row %d label %d is %v, want 0, 1 or NaN", name, i/k, i%k, y)
			}
		}
	case MultiClass:
		if len(s.Class) != s.X.Rows {
			return fmt.Errorf("%s has %d classes for %d rows", name, len(s.Class), s.X.Rows)
		}
		for i, c := range s.Class {
			if c < 0 || c >= k {
				return fmt.Errorf("%s row %d: class %d outside [0, %d)", name, i, c, k)
			}
		}
	default:
		return fmt.Errorf("unknown task %q", task)
	}
	return nil
}
