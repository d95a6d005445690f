package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// WriteLabelPredictions writes a binary or multi-label predictions CSV: an
// id column, then "<label>:true" and "<label>:score" for each label. truth
// holds 1, 0 or NaN (written as an empty cell) per example and label.
func WriteLabelPredictions(w io.Writer, ids, labels []string, truth [][]float64, scores [][]float32) error {
	header := []string{"id"}
	for _, l := range labels {
		header = append(header, l+":true", l+":score")
	}
	if len(truth) != len(ids) || len(scores) != len(ids) {
		return fmt.Errorf("results: predictions: %d ids, %d truth rows, %d score rows", len(ids), len(truth), len(scores))
	}
	return writeCSV(w, header, len(ids), func(i int) ([]string, error) {
		id := ids[i]
		if len(truth[i]) != len(labels) || len(scores[i]) != len(labels) {
			return nil, fmt.Errorf("results: predictions: row %d (%s) has %d truths and %d scores for %d labels", i, id, len(truth[i]), len(scores[i]), len(labels))
		}
		rec := []string{id}
		for j := range labels {
			t := ""
			if !math.IsNaN(truth[i][j]) {
				t = strconv.FormatFloat(truth[i][j], 'g', -1, 64)
			}
			rec = append(rec, t, strconv.FormatFloat(float64(scores[i][j]), 'g', -1, 32))
		}
		return rec, nil
	})
}

// WriteClassPredictions writes a multi-class predictions CSV: an id column,
// "true" (the class name), then "score:<class>" for each class.
func WriteClassPredictions(w io.Writer, ids, classes []string, truth []int, scores [][]float32) error {
	header := []string{"id", "true"}
	for _, c := range classes {
		header = append(header, "score:"+c)
	}
	if len(truth) != len(ids) || len(scores) != len(ids) {
		return fmt.Errorf("results: predictions: %d ids, %d truths, %d score rows", len(ids), len(truth), len(scores))
	}
	return writeCSV(w, header, len(ids), func(i int) ([]string, error) {
		id := ids[i]
		if truth[i] < 0 || truth[i] >= len(classes) || len(scores[i]) != len(classes) {
			return nil, fmt.Errorf("results: predictions: row %d (%s): class %d, %d scores for %d classes", i, id, truth[i], len(scores[i]), len(classes))
		}
		rec := []string{id, classes[truth[i]]}
		for _, s := range scores[i] {
			rec = append(rec, strconv.FormatFloat(float64(s), 'g', -1, 32))
		}
		return rec, nil
	})
}

// writeCSV writes header, then row(i) for each of n rows, as CSV; an error
// of row ends it.
func writeCSV(w io.Writer, header []string, n int, row func(i int) ([]string, error)) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("results: predictions: %w", err)
	}
	for i := range n {
		rec, err := row(i)
		if err != nil {
			return err
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("results: predictions: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("results: predictions: %w", err)
	}
	return nil
}

// LabelPredictions is a binary or multi-label predictions CSV as
// WriteLabelPredictions writes it.
type LabelPredictions struct {
	IDs    []string
	Labels []string
	Truth  [][]float64 // 1, 0 or NaN (unknown) per example and label
	Scores [][]float32 // per example and label
}

// ClassPredictions is a multi-class predictions CSV as
// WriteClassPredictions writes it.
type ClassPredictions struct {
	IDs     []string
	Classes []string
	Truth   []int       // class index per example
	Scores  [][]float32 // per example and class
}

// ReadPredictionsFile reads the predictions CSV at path as ReadPredictions
// does; its errors name the file.
func ReadPredictionsFile(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := ReadPredictions(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ReadPredictions reads a predictions CSV of either layout: it returns a
// *LabelPredictions or a *ClassPredictions. Errors name the line and
// column at fault.
func ReadPredictions(r io.Reader) (any, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("results: predictions header: %w", err)
	}
	read := readLabel
	if len(header) >= 2 && header[0] == "id" && header[1] == "true" {
		read = readClass
	}
	p, err := read(cr, header)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// readLabel reads the per-label layout's rows after its header (with an
// error, what it read so far: ReadPredictions drops it).
func readLabel(cr *csv.Reader, header []string) (any, error) {
	if len(header) < 3 || header[0] != "id" || len(header)%2 != 1 {
		return nil, fmt.Errorf("results: predictions header %q: want columns id,<label>:true,<label>:score (per label) or id,true,score:<class> (per class)", header)
	}
	p := &LabelPredictions{}
	for j := 1; j < len(header); j += 2 {
		l, ok1 := strings.CutSuffix(header[j], ":true")
		l2, ok2 := strings.CutSuffix(header[j+1], ":score")
		if !ok1 || !ok2 || l != l2 {
			return nil, fmt.Errorf("results: predictions header columns %d-%d %q, %q: want <label>:true, <label>:score", j+1, j+2, header[j], header[j+1])
		}
		p.Labels = append(p.Labels, l)
	}
	return p, readRows(cr, &p.IDs, &p.Truth, &p.Scores, func(line int, rec []string) ([]float64, []float32, error) {
		truth, scores := make([]float64, len(p.Labels)), make([]float32, len(p.Labels))
		for k := range p.Labels {
			var err error
			t := rec[1+2*k]
			truth[k] = math.NaN()
			if t != "" {
				if truth[k], err = strconv.ParseFloat(t, 64); err != nil {
					return nil, nil, fmt.Errorf("results: predictions line %d, %s: %w", line, header[1+2*k], err)
				}
			}
			if scores[k], err = score(rec, header, line, 2+2*k); err != nil {
				return nil, nil, err
			}
		}
		return truth, scores, nil
	})
}

// score parses the score in column col of a record on the given line.
func score(rec, header []string, line, col int) (float32, error) {
	v, err := strconv.ParseFloat(rec[col], 32)
	if err != nil {
		return 0, fmt.Errorf("results: predictions line %d, %s: %w", line, header[col], err)
	}
	return float32(v), nil
}

// readRows reads every record left in cr, the header being line 1, until
// the input ends or row or the reader fails: row parses a record on the
// given line into its truth and scores, appended with its id (the first
// column) to ids, truth and scores.
func readRows[T any](cr *csv.Reader, ids *[]string, truth *[]T, scores *[][]float32, row func(line int, rec []string) (T, []float32, error)) error {
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("results: predictions: %w", err)
		}
		t, sc, err := row(line, rec)
		if err != nil {
			return err
		}
		*ids, *truth, *scores = append(*ids, rec[0]), append(*truth, t), append(*scores, sc)
	}
}

// readClass reads the per-class layout's rows after its header.
func readClass(cr *csv.Reader, header []string) (any, error) {
	p := &ClassPredictions{}
	index := map[string]int{}
	for j, h := range header[2:] {
		c, ok := strings.CutPrefix(h, "score:")
		if !ok {
			return nil, fmt.Errorf("results: predictions header column %d %q: want score:<class>", j+3, h)
		}
		index[c] = len(p.Classes)
		p.Classes = append(p.Classes, c)
	}
	return p, readRows(cr, &p.IDs, &p.Truth, &p.Scores, func(line int, rec []string) (int, []float32, error) {
		c, ok := index[rec[1]]
		if !ok {
			return 0, nil, fmt.Errorf("results: predictions line %d: class %q is not in the header", line, rec[1])
		}
		scores := make([]float32, len(p.Classes))
		for k := range scores {
			var err error
			if scores[k], err = score(rec, header, line, 2+k); err != nil {
				return 0, nil, err
			}
		}
		return c, scores, nil
	})
}
