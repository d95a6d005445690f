package experiment

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk"
)

// protocol is one evaluation protocol of convirt run (evaluate[].protocol):
// what it reads, how it calls the evaluator and what it records.
type protocol interface {
	// cells is the number of progress steps one init of evaluation e takes.
	cells(e recipe.Eval) int
	// run evaluates the encoders of one init: it starts the encoders it
	// needs (evalRun.encoder, evalRun.withImage), reads features
	// (session.features), calls the evaluator (evalRun.ev) and records each
	// result (evalRun.record).
	run(ctx context.Context, er *evalRun, init string) error
}

// protocols are the registered protocols by recipe name, one for each of
// sdk.RecipeProtocols (the names recipes are validated against). A new
// protocol is its evaluator plugin with its name in plugins/sdk, a type
// implementing protocol, and a line here.
var protocols = map[string]protocol{
	sdk.ProtocolLinear:    linearProtocol,
	sdk.ProtocolFinetune:  finetuneProtocol{},
	sdk.ProtocolRetrieval: retrievalProtocol,
	sdk.ProtocolZeroShot:  zeroshotProtocol,
}

// protocolOf looks up the protocol an evaluation names.
func protocolOf(name string) (protocol, error) {
	p, ok := protocols[name]
	if !ok {
		return nil, fmt.Errorf("protocol %q is not supported by convirt run yet", name)
	}
	return p, nil
}

// perFraction counts one cell per label fraction (linear, finetune).
type perFraction struct{}

func (perFraction) cells(e recipe.Eval) int { return len(e.Fractions) }

// onePerInit counts one cell per init (retrieval, zeroshot).
type onePerInit struct{}

func (onePerInit) cells(recipe.Eval) int { return 1 }

// imageProtocol is a protocol whose work for one init is a step on that
// init's image encoder (linear, retrieval, zeroshot): run starts the
// encoder, hands it to step and closes it.
type imageProtocol struct {
	counter // perFraction or onePerInit
	step    func(er *evalRun, ctx context.Context, init string, img encoder) error
}

// counter counts a protocol's progress steps (protocol.cells).
type counter interface{ cells(e recipe.Eval) int }

func (p imageProtocol) run(ctx context.Context, er *evalRun, init string) error {
	return er.withImage(ctx, init, func(img encoder) error { return p.step(er, ctx, init, img) })
}

// withImage starts the image encoder with init's weights, runs fn with it
// and closes it.
func (er *evalRun) withImage(ctx context.Context, init string, fn func(img encoder) error) error {
	img, err := er.encoder(ctx, "image", init)
	if err != nil {
		return err
	}
	defer img.client.Close()
	return fn(img)
}

// labelSplits picks the train, validation and test splits of a labelled
// dataset: "train"; "test" when present, else "valid" or "validate" as the
// test set (CheXpert's and MURA's convention), in which case validation is
// left to the evaluator (held out of train).
func labelSplits(ctx context.Context, d *host.Dataset) (trainSplit, valSplit, testSplit string, err error) {
	names, err := d.Splits(ctx)
	if err != nil {
		return "", "", "", err
	}
	has := map[string]bool{}
	for _, n := range names {
		if info, err := d.Describe(ctx, n); err == nil && info.Len > 0 {
			has[n] = true
		}
	}
	if !has["train"] {
		return "", "", "", fmt.Errorf("the dataset has no non-empty train split (splits: %v)", names)
	}
	val := ""
	for _, v := range []string{"valid", "validate", "val"} {
		if has[v] {
			val = v
			break
		}
	}
	switch {
	case has["test"]:
		return "train", val, "test", nil
	case val != "":
		return "train", "", val, nil
	}
	return "", "", "", fmt.Errorf("the dataset has no test, valid or validate split to test on (splits: %v)", names)
}

// labelled is a labelled dataset's train, validation and test splits
// (labelSplits) with the test split's description: its task and label
// names.
type labelled struct {
	train, val, test string
	info             sdk.SplitInfo
}

// labelled picks the evaluation's labelled splits and describes the test
// split.
func (er *evalRun) labelled(ctx context.Context) (labelled, error) {
	train, val, test, err := labelSplits(ctx, er.data.client)
	if err != nil {
		return labelled{}, err
	}
	info, err := er.data.client.Describe(ctx, test)
	if err != nil {
		return labelled{}, err
	}
	return labelled{train: train, val: val, test: test, info: info}, nil
}

// record turns an evaluator's result into results entries, metrics,
// prediction CSVs and ROC plots.
func (er *evalRun) record(ctx context.Context, protocol, init string, fraction float64, res sdk.EvalResult, task string) error {
	es, err := results.Cell(results.Entry{Task: er.data.plugin, Protocol: protocol, Init: init, Fraction: fraction}, results.Scores(res.Scores), res.Metrics)
	if err != nil {
		return err
	}
	if init == "convirt" {
		for i := range es {
			es[i].Weights = er.used
		}
	}
	er.out = append(er.out, es...)
	return er.s.writeOutputs(er.e.Name, protocol, init, fraction, res, task)
}
