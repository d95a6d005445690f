package evalplugin

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/evaluators/zeroshot"
	"github.com/convirt/convirt/plugins/sdk"
)

// ZeroShotConfig is the config of the zero-shot evaluator.
type ZeroShotConfig struct {
	BootConfig
}

// ZeroShot is the built-in "zeroshot" evaluator: an image's score for a
// class is the cosine similarity between its embedding and the mean of the
// class's normalised prompt embeddings.
type ZeroShot struct{ frozen[ZeroShotConfig] }

// zeroShotSpec is what the zero-shot evaluator's shell serves.
var zeroShotSpec = frozenSpec[ZeroShotConfig]{
	name: ZeroShotName, protocol: sdk.ProtocolZeroShot, params: []string{"task"},
	description: `zero-shot classification (protocol "zeroshot"): cosine similarity to each class's mean prompt embedding, AUC or accuracy with bootstrap intervals`,
	defaults:    func() ZeroShotConfig { return ZeroShotConfig{BootConfig: defaultBoot()} },
	run:         runZeroShot,
}

// NewZeroShot returns the evaluator with the default config.
func NewZeroShot() *ZeroShot { return &ZeroShot{newFrozen(&zeroShotSpec)} }

// runZeroShot checks the request (its protocol and param names checked by
// the shell), scores the test images and aggregates.
func runZeroShot(ctx context.Context, req sdk.EvalRequest, cfg ZeroShotConfig) (sdk.EvalResult, error) {
	task, err := (params{req.Params}).task()
	if err != nil {
		return sdk.EvalResult{}, err
	}
	checkTest := func(s *split) error { return s.checkTask(task) }
	test, prompts, err := splitPair(req, sdk.SplitTest, checkTest, sdk.SplitPrompts, (*split).checkOneHot)
	if err != nil {
		return sdk.EvalResult{}, err
	}
	classes := make([]zeroshot.Class, test.k)
	for c, n := range test.names {
		classes[c].Name = n
	}
	for i, row := range prompts.featureRows() {
		c := prompts.class(i)
		classes[c].Prompts = append(classes[c].Prompts, row)
	}
	for _, cl := range classes {
		if len(cl.Prompts) == 0 {
			return sdk.EvalResult{}, fmt.Errorf("split %q has no prompt for class %q", sdk.SplitPrompts, cl.Name)
		}
	}
	sim, err := zeroshot.Scores(test.featureRows(), classes)
	if err != nil {
		return sdk.EvalResult{}, fmt.Errorf("splits %q and %q: %w", sdk.SplitTest, sdk.SplitPrompts, err)
	}
	// Scores are reported, and scored, as the float32 predictions the
	// host records, so the numbers can be recomputed from them exactly.
	pred := make([][]float32, len(sim))
	for i, row := range sim {
		pred[i] = make([]float32, len(row))
		for c, v := range row {
			pred[i][c] = float32(v)
		}
	}
	res, err := labelResult(ctx, task, []uint64{0}, []string{"zeroshot"}, [][][]float32{pred}, test, cfg.metricsConfig())
	if err != nil {
		return sdk.EvalResult{}, err
	}
	res.Metrics["test_examples"] = float64(test.rows)
	res.Metrics["prompts"] = float64(prompts.rows)
	return res, nil
}
