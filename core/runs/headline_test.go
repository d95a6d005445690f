package runs

import (
	"slices"
	"testing"
)

func TestHeadline(t *testing.T) {
	retrieval := "eval/chexpert-retrieval/retrieval-image/convirt/f1/"
	keys := []string{
		linearAUC("convirt", "0.01"), linearAUC("convirt", "0.01") + ":Edema", "eval/chexpert-linear/linear/convirt/f0.01/test_examples",
		linearAUC("random", "0.01"), retrieval + "candidates", retrieval + "p_at_10", retrieval + "p_at_5",
		"eval/covidx/zeroshot/convirt/f1/accuracy", "train/items_per_sec", TrainLossKey, ValLossKey,
	}
	for _, c := range []struct {
		name string
		got  []string
		want []string
	}{
		{"headline", Headline(keys), []string{ValLossKey, linearAUC("convirt", "0.01"), linearAUC("random", "0.01"), retrieval + "p_at_10", "eval/covidx/zeroshot/convirt/f1/accuracy"}},
		{"train loss without val", Headline([]string{TrainLossKey, "x"}), []string{TrainLossKey}},
		{"pretrained", PretrainedHeadline(keys), []string{ValLossKey, linearAUC("convirt", "0.01"), retrieval + "p_at_10", "eval/covidx/zeroshot/convirt/f1/accuracy"}},
		{"baselines only", PretrainedHeadline([]string{linearAUC("imagenet", "1"), linearAUC("random", "1")}), []string{linearAUC("imagenet", "1"), linearAUC("random", "1")}},
		{"none", Headline([]string{"a", "eval/x"}), nil},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestShortNames(t *testing.T) {
	for _, c := range []struct {
		names []string
		sep   string
		min   int
		want  []string
	}{
		{[]string{linearAUC("convirt", "0.01"), linearAUC("convirt", "1"), ValLossKey}, "/", 2, []string{"f0.01/auc", "f1/auc", ValLossKey}},
		{[]string{linearAUC("convirt", "1"), linearAUC("random", "1")}, "/", 2, []string{"convirt/auc", "random/auc"}},
		{[]string{linearAUC("convirt", "1"), "eval/r/retrieval-image/convirt/f1/p_at_10", "eval/r/retrieval-text/convirt/f1/p_at_10"}, "/", 2,
			[]string{"linear/auc", "retrieval-image/p_at_10", "retrieval-text/p_at_10"}},
		{[]string{linearAUC("convirt", "1")}, "/", 2, []string{"f1/auc"}},
		{[]string{ValLossKey, TrainLossKey}, "/", 2, []string{ValLossKey, TrainLossKey}},
		{[]string{ValLossKey, TrainLossKey}, "/", 1, []string{ValLossKey, TrainLossKey}}, // "loss" twice
		{[]string{"loss.config.tau", "train.batch_size"}, ".", 1, []string{"tau", "batch_size"}},
		{[]string{"image_encoder.plugin", "text_encoder.plugin"}, ".", 1, []string{"image_encoder.plugin", "text_encoder.plugin"}},
	} {
		if got := ShortNames(c.names, c.sep, c.min); !slices.Equal(got, c.want) {
			t.Errorf("ShortNames(%v) = %v, want %v", c.names, got, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatValue(237), "237"},
		{FormatValue(0.923584), "0.9236"},
		{FormatValue(2.281906), "2.282"},
		{FormatDelta(0.9, 0.9125), "+0.0125"},
		{FormatDelta(2.5, 2.25), "-0.25"},
		{FormatDelta(1, 1), "="},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
