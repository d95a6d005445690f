package runs

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The fixed columns a listing sorts by besides its param and metric
// columns.
var sortFields = []string{"start", "name", "experiment", "status", "duration", "id"}

// Sort orders the rows by field: one of start, name, experiment, status,
// duration, id, or a param or metric column (its name, its header, or a
// pattern matching exactly one column). A leading '-' sorts descending.
// Runs without a value come last either way; ties keep their order.
func (l *Listing) Sort(field string) error {
	desc := strings.HasPrefix(field, "-")
	field = strings.TrimPrefix(field, "-")
	key, err := l.sortKey(field)
	if err != nil {
		return err
	}
	idx := make([]int, len(l.Runs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		va, oka := key(a)
		vb, okb := key(b)
		switch {
		case !oka || !okb:
			return cmp.Compare(boolInt(!oka), boolInt(!okb))
		case desc:
			return compareValues(vb, va)
		}
		return compareValues(va, vb)
	})
	runs, params, finals := slices.Clone(l.Runs), slices.Clone(l.Params), slices.Clone(l.Finals)
	for to, from := range idx {
		l.Runs[to], l.Params[to], l.Finals[to] = runs[from], params[from], finals[from]
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sortValue is a cell to sort by: a number when it has one.
type sortValue struct {
	num   float64
	isNum bool
	text  string
}

func compareValues(a, b sortValue) int {
	if a.isNum && b.isNum {
		return cmp.Compare(a.num, b.num)
	}
	return strings.Compare(a.text, b.text)
}

// sortKey returns the value of field in row i.
func (l *Listing) sortKey(field string) (func(i int) (sortValue, bool), error) {
	text := func(s string) (sortValue, bool) { return sortValue{text: s}, s != "" }
	num := func(v float64) (sortValue, bool) { return sortValue{num: v, isNum: true}, true }
	switch field {
	case "start":
		return func(i int) (sortValue, bool) { return num(float64(l.Runs[i].StartTime.UnixNano())) }, nil
	case "name":
		return func(i int) (sortValue, bool) { return text(l.Runs[i].Name) }, nil
	case "experiment":
		return func(i int) (sortValue, bool) { return text(l.Runs[i].Experiment) }, nil
	case "status":
		return func(i int) (sortValue, bool) { return text(string(l.Runs[i].Status)) }, nil
	case "duration":
		return func(i int) (sortValue, bool) { return num(float64(l.Runs[i].Duration())) }, nil
	case "id":
		return func(i int) (sortValue, bool) { return text(l.Runs[i].ID) }, nil
	}
	if k, err := pickColumn(field, l.MetricCols, metricHeaders(l.MetricCols)); err != nil {
		return nil, err
	} else if k != "" {
		return func(i int) (sortValue, bool) {
			m, ok := l.Finals[i][k]
			return sortValue{num: m.Value, isNum: true}, ok
		}, nil
	}
	if k, err := pickColumn(field, l.ParamCols, paramHeaders(l.ParamCols)); err != nil {
		return nil, err
	} else if k != "" {
		return func(i int) (sortValue, bool) {
			v, ok := l.Params[i][k]
			f, err := strconv.ParseFloat(v, 64)
			return sortValue{num: f, isNum: err == nil, text: v}, ok
		}, nil
	}
	cols := append(append(slices.Clone(sortFields), paramHeaders(l.ParamCols)...), metricHeaders(l.MetricCols)...)
	return nil, fmt.Errorf("sort by %q: no such column; sort by one of %s", field, strings.Join(cols, ", "))
}

// pickColumn finds field among cols: a column's name, its header, or a
// pattern that matches exactly one column (several are an error); "" when
// none matches.
func pickColumn(field string, cols, headers []string) (string, error) {
	for i, h := range headers {
		if field == cols[i] || field == h {
			return cols[i], nil
		}
	}
	ps, err := ParsePatterns(field)
	if err != nil {
		return "", fmt.Errorf("sort by %q: %w", field, err)
	}
	switch hits := ps.Select(cols); len(hits) {
	case 0:
		return "", nil
	case 1:
		return hits[0], nil
	default:
		return "", fmt.Errorf("sort by %q: it matches %d columns (%s); name one", field, len(hits), strings.Join(hits, ", "))
	}
}
