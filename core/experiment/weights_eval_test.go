package experiment

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
)

// probeEval is the recipe's evaluation, with checkpoint_select set when
// sel is not empty and the recipe's default otherwise.
func probeEval(t *testing.T, sel string) recipe.Eval {
	t.Helper()
	var sets []string
	if sel != "" {
		sets = []string{"evaluate.0.checkpoint_select=" + sel}
	}
	r, err := recipe.Parse("w.yaml", []byte(weightsRecipe), recipe.Options{Sets: sets, Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return r.Evaluate[0]
}

// TestEvaluationUsesBestWeightsByDefault: init convirt restores the
// best-validation weights of this run's pretraining unless the evaluation
// asks for the last, and the run's tags say which weights the results are
// of.
func TestEvaluationUsesBestWeightsByDefault(t *testing.T) {
	for _, tc := range []struct {
		sel, used string
		step      int
		valLoss   string // "": no tag
	}{
		{"", "best", 8, "1"},
		{"best", "best", 8, "1"},
		{"last", "last", 16, ""},
	} {
		s, _ := toySession(t, true)
		er := &evalRun{s: s, e: probeEval(t, tc.sel), data: dataset{plugin: "chexpert"}}
		st, err := er.convirtState("image")
		if err != nil {
			t.Fatal(err)
		}
		if got := stepsOf(t, st); got != tc.step {
			t.Errorf("checkpoint_select %q: weights of step %d, want %d", tc.sel, got, tc.step)
		}
		// results.json says the same, on init convirt's entries only.
		score := sdk.Score{Metric: "auc", Mean: 0.75, Seeds: []uint64{0, 1}, Values: []float64{0.7, 0.8}}
		for _, init := range []string{"convirt", "random"} {
			if err := er.record(context.Background(), "linear", init, 1, sdk.EvalResult{Scores: []sdk.Score{score}}, "multilabel"); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(er.out); n != 2 {
			t.Fatalf("%d entries, want 2", n)
		}
		if w := er.out[1].Weights; w != nil {
			t.Errorf("init random has weights provenance %+v", w)
		}
		w := er.out[0].Weights
		if w == nil || w.Used != tc.used || w.Step != tc.step || w.Select != map[string]string{"": "best"}[tc.sel]+tc.sel ||
			(w.ValLoss == nil) != (tc.valLoss == "") || w.Source == "" || strings.Contains(w.Source, s.run.Dir()) {
			t.Errorf("checkpoint_select %q: results weights %+v, want %s of step %d", tc.sel, w, tc.used, tc.step)
		}
		tags := s.run.Tags()
		want := map[string]string{"evaluate.probe.checkpoint": tc.used, "evaluate.probe.checkpoint_step": itoa(tc.step),
			"evaluate.probe.checkpoint_select": map[string]string{"": "best"}[tc.sel] + tc.sel, "evaluate.probe.checkpoint_val_loss": tc.valLoss}
		for k, v := range want {
			if tags[k] != v {
				t.Errorf("checkpoint_select %q: tag %s = %q, want %q", tc.sel, k, tags[k], v)
			}
		}
	}
}

// TestEvaluationWithoutValidationUsesLast: without validation data the
// default best uses the last weights, says so on the terminal and records
// the reason.
func TestEvaluationWithoutValidationUsesLast(t *testing.T) {
	s, progress := toySession(t, false)
	er := &evalRun{s: s, e: probeEval(t, "")}
	st, err := er.convirtState("image")
	if err != nil {
		t.Fatal(err)
	}
	if got := stepsOf(t, st); got != 16 {
		t.Errorf("weights of step %d, want the last, 16", got)
	}
	tags := s.run.Tags()
	if tags["evaluate.probe.checkpoint"] != "last" || !strings.Contains(tags["evaluate.probe.checkpoint_note"], "no validation split") {
		t.Errorf("tags %v", tags)
	}
	if !strings.Contains(progress.String(), "no validation split") {
		t.Errorf("terminal output %q lacks the fallback note", progress.String())
	}
}

// TestLastWeightsThatAreBest: when the lowest validation loss is the last
// one, the last weights are recorded with it.
func TestLastWeightsThatAreBest(t *testing.T) {
	s, _ := scriptSession(t, true, []float64{3, 2, 1.5, 1})
	er := &evalRun{s: s, e: probeEval(t, "last")}
	if _, err := er.convirtState("image"); err != nil {
		t.Fatal(err)
	}
	tags := s.run.Tags()
	if tags["evaluate.probe.checkpoint"] != "last" || tags["evaluate.probe.checkpoint_step"] != "16" || tags["evaluate.probe.checkpoint_val_loss"] != "1" {
		t.Errorf("tags %v", tags)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
