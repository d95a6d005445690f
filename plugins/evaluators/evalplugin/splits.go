package evalplugin

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/convirt/convirt/plugins/evaluators/linear"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// split is one decoded and checked split of a request: rows x dim
// features, rows x k labels named by names, the row ids and the rows'
// groups (patients; nil when the request has none).
type split struct {
	name      string
	rows, dim int
	x         []float32
	k         int
	y         []float32
	names     []string
	ids       []string
	groups    []string
}

// getSplit decodes and checks split name of req: it must be present, hold
// at least one example with finite 2-d features, and 2-d labels with one
// row per example and one column per (distinct) label name; groups, when
// given, one per example.
func getSplit(req sdk.EvalRequest, name string) (*split, error) {
	fs, ok := req.Splits[name]
	if !ok || fs == nil {
		return nil, fmt.Errorf("split %q is missing (the request has %s)", name, splitNames(req))
	}
	s := &split{name: name, names: fs.LabelNames}
	var shape []int64
	var err error
	if s.x, shape, err = floats(fs.Features); err != nil {
		return nil, fmt.Errorf("split %q features: %w", name, err)
	}
	s.rows, s.dim = int(shape[0]), int(shape[1])
	if s.rows == 0 || s.dim == 0 {
		return nil, fmt.Errorf("split %q has features of shape %v: want at least one example and one feature", name, shape)
	}
	for i, v := range s.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("split %q features: row %d column %d is %v", name, i/s.dim, i%s.dim, v)
		}
	}
	if s.y, shape, err = floats(fs.Labels); err != nil {
		return nil, fmt.Errorf("split %q labels: %w", name, err)
	}
	s.k = int(shape[1])
	switch {
	case int(shape[0]) != s.rows:
		return nil, fmt.Errorf("split %q has %d label rows for %d feature rows", name, shape[0], s.rows)
	case len(s.names) == 0:
		return nil, fmt.Errorf("split %q has no label names", name)
	case s.k != len(s.names):
		return nil, fmt.Errorf("split %q has %d label columns but %d label names", name, s.k, len(s.names))
	}
	seen := map[string]bool{}
	for _, n := range s.names {
		if seen[n] {
			return nil, fmt.Errorf("split %q names label %q twice", name, n)
		}
		seen[n] = true
	}
	switch len(fs.IDs) {
	case 0:
		s.ids = make([]string, s.rows)
		for i := range s.ids {
			s.ids[i] = strconv.Itoa(i)
		}
	case s.rows:
		s.ids = fs.IDs
	default:
		return nil, fmt.Errorf("split %q has %d ids for %d rows", name, len(fs.IDs), s.rows)
	}
	switch len(fs.Groups) {
	case 0:
	case s.rows:
		s.groups = fs.Groups
	default:
		return nil, fmt.Errorf("split %q has %d groups for %d rows: want one per row, or none", name, len(fs.Groups), s.rows)
	}
	return s, nil
}

// floats reads a 2-d float32 or float64 tensor as float32s.
func floats(t *tensor.Tensor) ([]float32, []int64, error) {
	if t == nil {
		return nil, nil, fmt.Errorf("missing")
	}
	if len(t.Shape) != 2 {
		return nil, nil, fmt.Errorf("want a 2-d tensor, have shape %v", t.Shape)
	}
	if t.DType == tensor.Float32 {
		v, err := t.Float32s()
		return v, t.Shape, err
	}
	v, err := t.Float64s()
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, t.Shape, nil
}

// presentSplits are the names of the splits of req that hold features,
// sorted.
func presentSplits(req sdk.EvalRequest) []string {
	var n []string
	for k, v := range req.Splits {
		if v != nil {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return n
}

// splitNames lists the splits of req for messages.
func splitNames(req sdk.EvalRequest) string {
	n := presentSplits(req)
	if len(n) == 0 {
		return "no splits"
	}
	return "splits " + quoteAll(n)
}

// label is the label at row i, column c.
func (s *split) label(i, c int) float32 { return s.y[i*s.k+c] }

// checkTask checks the labels for task: binary has one column, binary and
// multi-label labels are 0, 1 or NaN (unknown), multi-class rows one-hot.
func (s *split) checkTask(task linear.Task) error {
	switch task {
	case linear.Binary, linear.MultiLabel:
		if task == linear.Binary && s.k != 1 {
			return fmt.Errorf("split %q: a binary task has one label column, this split has %d (%s)", s.name, s.k, quoteAll(s.names))
		}
		for i, v := range s.y {
			if v != 0 && v != 1 && !math.IsNaN(float64(v)) {
				return fmt.Errorf("split %q: row %d label %q is %v, want 0, 1 or NaN", s.name, i/s.k, s.names[i%s.k], v)
			}
		}
		return nil
	case linear.MultiClass:
		if s.k < 2 {
			return fmt.Errorf("split %q: a multiclass task needs at least 2 classes, this split has %d", s.name, s.k)
		}
		return s.checkOneHot()
	}
	return fmt.Errorf("unknown task %q", task)
}

// checkOneHot checks that every label row is one-hot.
func (s *split) checkOneHot() error {
	for i := 0; i < s.rows; i++ {
		ones := 0
		for c := 0; c < s.k; c++ {
			switch v := s.label(i, c); v {
			case 1:
				ones++
			case 0:
			default:
				return fmt.Errorf("split %q: row %d label %q is %v, want one-hot rows of 0 and 1", s.name, i, s.names[c], v)
			}
		}
		if ones != 1 {
			return fmt.Errorf("split %q: row %d has %d labels set, want one-hot rows (exactly one 1)", s.name, i, ones)
		}
	}
	return nil
}

// check01 checks that every label is 0 or 1.
func (s *split) check01() error {
	for i, v := range s.y {
		if v != 0 && v != 1 {
			return fmt.Errorf("split %q: row %d label %q is %v, want 0 or 1", s.name, i/s.k, s.names[i%s.k], v)
		}
	}
	return nil
}

// class is the column of the 1 in one-hot row i.
func (s *split) class(i int) int {
	for c := 0; c < s.k; c++ {
		if s.label(i, c) == 1 {
			return c
		}
	}
	return -1
}

// splitPair reads the request's splits a and b, checks each with its rule
// and that both have the same labels in the same order: the one split
// scored against the other (retrieval's candidates and queries, zero-shot's
// test images and prompts).
func splitPair(req sdk.EvalRequest, a string, checkA func(*split) error, b string, checkB func(*split) error) (*split, *split, error) {
	sa, err := getSplit(req, a)
	if err != nil {
		return nil, nil, err
	}
	if err := checkA(sa); err != nil {
		return nil, nil, err
	}
	sb, err := getSplit(req, b)
	if err != nil {
		return nil, nil, err
	}
	if err := checkB(sb); err != nil {
		return nil, nil, err
	}
	if err := sameLabels(sa, sb, true); err != nil {
		return nil, nil, err
	}
	return sa, sb, nil
}

// sameLabels checks that b has a's label names in a's order and, when dim
// is set, a's feature dimension.
func sameLabels(a, b *split, dim bool) error {
	if dim && a.dim != b.dim {
		return fmt.Errorf("split %q has %d-dimensional features, split %q has %d", b.name, b.dim, a.name, a.dim)
	}
	if len(a.names) != len(b.names) {
		return fmt.Errorf("split %q has %d label names (%s), split %q has %d (%s)", b.name, len(b.names), quoteAll(b.names), a.name, len(a.names), quoteAll(a.names))
	}
	for i := range a.names {
		if a.names[i] != b.names[i] {
			return fmt.Errorf("split %q label %d is %q, split %q has %q there: label names must match in order", b.name, i, b.names[i], a.name, a.names[i])
		}
	}
	return nil
}

// take returns rows idx of s as a new split (copies).
func (s *split) take(name string, idx []int) *split {
	out := &split{name: name, rows: len(idx), dim: s.dim, k: s.k, names: s.names,
		x: make([]float32, 0, len(idx)*s.dim), y: make([]float32, 0, len(idx)*s.k), ids: make([]string, 0, len(idx))}
	for _, i := range idx {
		out.x = append(out.x, s.x[i*s.dim:(i+1)*s.dim]...)
		out.y = append(out.y, s.y[i*s.k:(i+1)*s.k]...)
		out.ids = append(out.ids, s.ids[i])
		if s.groups != nil {
			out.groups = append(out.groups, s.groups[i])
		}
	}
	return out
}

// labelRows returns the label rows (sharing s's storage), as
// subset.Stratified and subset.Holdout take them.
func (s *split) labelRows() [][]float32 {
	out := make([][]float32, s.rows)
	for i := range out {
		out[i] = s.y[i*s.k : (i+1)*s.k]
	}
	return out
}

// featureRows returns the feature rows (sharing s's storage).
func (s *split) featureRows() [][]float32 {
	out := make([][]float32, s.rows)
	for i := range out {
		out[i] = s.x[i*s.dim : (i+1)*s.dim]
	}
	return out
}

// linearSplit is s as the linear package takes it: Y holds the labels
// (one-hot for multi-class, for one-vs-rest AUC) and, for multi-class,
// Class the class of each row.
func (s *split) linearSplit(task linear.Task) linear.Split {
	ls := linear.Split{X: linear.Matrix{Rows: s.rows, Cols: s.dim, Data: s.x}, Y: linear.Matrix{Rows: s.rows, Cols: s.k, Data: s.y}}
	if task == linear.MultiClass {
		ls.Class = make([]int, s.rows)
		for i := range ls.Class {
			ls.Class[i] = s.class(i)
		}
	}
	return ls
}

// labelTensor returns the labels as a (rows, k) float32 tensor.
func (s *split) labelTensor() (*tensor.Tensor, error) {
	return tensor.FromFloat32([]int64{int64(s.rows), int64(s.k)}, s.y)
}
