package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
)

// WriteLabelPredictions writes a binary or multi-label predictions CSV: an
// id column, then "<label>:true" and "<label>:score" for each label. truth
// holds 1, 0 or NaN (written as an empty cell) per example and label.
func WriteLabelPredictions(w io.Writer, ids, labels []string, truth [][]float64, scores [][]float32) error {
	header := []string{"id"}
	for _, l := range labels {
		header = append(header, l+":true", l+":score")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("results: predictions: %w", err)
	}
	if len(truth) != len(ids) || len(scores) != len(ids) {
		return fmt.Errorf("results: predictions: %d ids, %d truth rows, %d score rows", len(ids), len(truth), len(scores))
	}
	for i, id := range ids {
		if len(truth[i]) != len(labels) || len(scores[i]) != len(labels) {
			return fmt.Errorf("results: predictions: row %d (%s) has %d truths and %d scores for %d labels", i, id, len(truth[i]), len(scores[i]), len(labels))
		}
		rec := []string{id}
		for j := range labels {
			t := ""
			if !math.IsNaN(truth[i][j]) {
				t = strconv.FormatFloat(truth[i][j], 'g', -1, 64)
			}
			rec = append(rec, t, strconv.FormatFloat(float64(scores[i][j]), 'g', -1, 32))
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

// WriteClassPredictions writes a multi-class predictions CSV: an id column,
// "true" (the class name), then "score:<class>" for each class.
func WriteClassPredictions(w io.Writer, ids, classes []string, truth []int, scores [][]float32) error {
	header := []string{"id", "true"}
	for _, c := range classes {
		header = append(header, "score:"+c)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("results: predictions: %w", err)
	}
	if len(truth) != len(ids) || len(scores) != len(ids) {
		return fmt.Errorf("results: predictions: %d ids, %d truths, %d score rows", len(ids), len(truth), len(scores))
	}
	for i, id := range ids {
		if truth[i] < 0 || truth[i] >= len(classes) || len(scores[i]) != len(classes) {
			return fmt.Errorf("results: predictions: row %d (%s): class %d, %d scores for %d classes", i, id, truth[i], len(scores[i]), len(classes))
		}
		rec := []string{id, classes[truth[i]]}
		for _, s := range scores[i] {
			rec = append(rec, strconv.FormatFloat(float64(s), 'g', -1, 32))
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
