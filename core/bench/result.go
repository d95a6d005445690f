package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Common JSON fields of every benchmark record (`convirt bench ...
// --json` and plugins/models/benchcompare/bench_torch.py).
const (
	FieldSecPerStep  = "sec_per_step"
	FieldItemsPerSec = "items_per_sec"
)

// Record is one benchmark's JSON object, fields kept as decoded.
type Record map[string]any

// ReadRecords reads the JSON objects of r, one per line; other lines (log
// text around them) are skipped. It fails when there is none.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return out, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, errors.New("no JSON object found")
	}
	return out, nil
}

// Number returns the numeric field at path, a dot-separated key path
// ("split.sec_per_step").
func (r Record) Number(path string) (float64, error) {
	var v any = map[string]any(r)
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, fmt.Errorf("field %q: %q is not an object", path, k)
		}
		if v, ok = m[k]; !ok {
			return 0, fmt.Errorf("field %q: no key %q", path, k)
		}
	}
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("field %q: %v is not a number", path, v)
	}
	return f, nil
}

// String returns the string field key, or "" when absent.
func (r Record) String(key string) string {
	s, _ := r[key].(string)
	return s
}

// How several records of one benchmark are reduced to one figure per field
// (`convirt bench ratio --reduce`): runs repeated and interleaved with
// their reference on a shared machine compare better by their median than
// by any single run.
const (
	ReduceLast   = "last"
	ReduceMedian = "median"
	ReduceMin    = "min"
)

// Reduce returns the field at path over recs: the last record's value
// (ReduceLast), the median of all records' (ReduceMedian) or the smallest
// (ReduceMin). Every record must have the field.
func Reduce(recs []Record, path, how string) (float64, error) {
	if len(recs) == 0 {
		return 0, errors.New("no record")
	}
	if how == ReduceLast {
		return recs[len(recs)-1].Number(path)
	}
	vals := make([]float64, len(recs))
	for i, r := range recs {
		v, err := r.Number(path)
		if err != nil {
			return 0, fmt.Errorf("record %d: %w", i+1, err)
		}
		vals[i] = v
	}
	switch how {
	case ReduceMedian:
		return Median(vals), nil
	case ReduceMin:
		m := vals[0]
		for _, v := range vals[1:] {
			m = min(m, v)
		}
		return m, nil
	}
	return 0, fmt.Errorf("unknown reduction %q (want %s, %s or %s)", how, ReduceLast, ReduceMedian, ReduceMin)
}
