package zeroshot

import (
	"math"
	"testing"
)

func TestScoresUsePromptMean(t *testing.T) {
	classes := []Class{
		{"x", [][]float32{{1, 0, 0}, {10, 0, 0}}},      // centre x
		{"yz", [][]float32{{0, 1, 0}, {0, 0, 3}}},      // centre (y + z)/sqrt2
		{"neg", [][]float32{{-1, 0, 0}, {-2, 0, 0.0}}}, // centre -x
	}
	s, err := Scores([][]float32{{2, 0, 0}, {0, 1, 1}}, classes)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{1, 0, -1}, {0, 1, 0}}
	for i := range want {
		for j := range want[i] {
			if math.Abs(s[i][j]-want[i][j]) > 1e-12 {
				t.Errorf("score[%d][%d] = %v, want %v", i, j, s[i][j], want[i][j])
			}
		}
	}
	if _, err := Scores([][]float32{{1, 0}}, classes); err == nil {
		t.Error("dimension mismatch accepted")
	}
	if _, err := Scores(nil, []Class{{"empty", nil}}); err == nil {
		t.Error("class without prompts accepted")
	}
}

func TestEvaluate(t *testing.T) {
	scores := [][]float64{{0.9, 0.1}, {0.8, 0.3}, {0.2, 0.7}, {0.4, 0.6}}
	rep, err := EvaluateMultiClass(scores, []int{0, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != 0.75 {
		t.Errorf("accuracy %v, want 0.75", rep.Accuracy)
	}
	// Class 0: positives 0.9, 0.8, 0.4 vs negative 0.2: AUC 1.
	// Class 1: positive 0.7 vs 0.1, 0.3, 0.6: AUC 1.
	if rep.AUC[0] != 1 || rep.AUC[1] != 1 || rep.MeanAUC != 1 {
		t.Errorf("AUC %v mean %v", rep.AUC, rep.MeanAUC)
	}
	nan := math.NaN()
	ml, err := EvaluateMultiLabel(scores, [][]float64{{1, 0}, {0, 0}, {1, 0}, {0, nan}})
	if err != nil {
		t.Fatal(err)
	}
	// Class 0: positives 0.9, 0.2 vs negatives 0.8, 0.4: 2 of 4 pairs.
	if ml.AUC[0] != 0.5 || !math.IsNaN(ml.AUC[1]) || ml.MeanAUC != 0.5 || !math.IsNaN(ml.Accuracy) {
		t.Errorf("multi-label report %+v", ml)
	}
	if _, err := EvaluateMultiLabel(scores, [][]float64{{0, 0}, {0, 0}, {0, 0}, {0, 0}}); err == nil {
		t.Error("all one class accepted")
	}
	if _, err := EvaluateMultiClass(scores, []int{0, 0, 2, 0}); err == nil {
		t.Error("class out of range accepted")
	}
}
