package experiment

import (
	"context"
	"errors"
	"fmt"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/plugins/sdk"
)

// ResultsFile is the name of the run's aggregated results (docs/results.md).
const ResultsFile = "results.json"

// evaluate runs every evaluation of the recipe, writing results.json after
// each one so that a failure later keeps what was measured.
func (s *session) evaluate(ctx context.Context) (*results.File, error) {
	file := &results.File{}
	for i, e := range s.r.Evaluate {
		var entries []results.Entry
		for restarts := 0; ; restarts++ {
			var err error
			entries, err = s.evaluateOne(ctx, e)
			if err == nil {
				break
			}
			var dead *host.ExitError
			if !errors.As(err, &dead) || ctx.Err() != nil || restarts >= s.r.Train.MaxRestarts {
				return file, fmt.Errorf("evaluate.%d (%s): %w", i, e.Name, err)
			}
			fmt.Fprintf(s.log, "plugin %q died during evaluation %s (%s); running the evaluation again (restart %d of at most %d)\n",
				dead.Plugin, e.Name, dead.Status, restarts+1, s.r.Train.MaxRestarts)
			// The terminal too, as pretraining's restarts (issue 24 item 10).
			fmt.Fprintf(s.opt.Progress, "plugin %q died during evaluation %s (%s): running the evaluation again\n", dead.Plugin, e.Name, dead.Status)
		}
		file.Entries = append(file.Entries, entries...)
		if err := results.Write(s.runPath(ResultsFile), file); err != nil {
			return file, err
		}
	}
	return file, nil
}

// evalRun is one evaluation entry in progress.
type evalRun struct {
	s     *session
	e     recipe.Eval
	data  dataset
	ev    sdk.Evaluator
	out   []results.Entry
	saved map[string][]byte // the ConVIRT encoder states used by init "convirt"
	used  *results.Weights  // where saved came from, for the results entries
	bar   *progress.Bar     // one step per init x fraction
}

// evaluateOne runs one evaluation entry for each of its inits.
func (s *session) evaluateOne(ctx context.Context, e recipe.Eval) ([]results.Entry, error) {
	p, err := protocolOf(e.Protocol)
	if err != nil {
		return nil, err
	}
	l := s.opt.Launcher
	var open []closer
	defer func() { closeAll(open) }()
	// Texts of an evaluation set (text queries) are whole unless the recipe
	// says otherwise: text_sampling is pretraining's (train.text_sampling).
	dcfg := s.withRunDefaults(e.Dataset.Plugin, e.Dataset.Config, map[string]any{"text_sampling": "report"})
	d, err := l.Dataset(ctx, e.Dataset.Plugin, dcfg)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	open = append(open, d)
	ev, err := l.Evaluator(ctx, e.Evaluator.Plugin, e.Evaluator.Config)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	open = append(open, ev)
	er := &evalRun{s: s, e: e, data: dataset{client: d, plugin: e.Dataset.Plugin, config: dcfg}, ev: ev}
	er.bar = s.bar(int64(len(e.Inits)*p.cells(e)), "evaluate "+e.Name, "evaluations")
	defer er.bar.Finish()
	for _, init := range e.Inits {
		if err := p.run(ctx, er, init); err != nil {
			return nil, fmt.Errorf("init %s: %w", init, err)
		}
	}
	return er.out, nil
}

// encoder starts the image or text encoder (role) with the weights of init:
// "convirt" restores the pretrained state, "random" drops pretrained
// weights, "imagenet" keeps the weights the encoder config names.
func (er *evalRun) encoder(ctx context.Context, role, init string) (encoder, error) {
	r := er.s.r
	ref := r.ImageEncoder
	if role == "text" {
		if r.TextEncoder == nil {
			return encoder{}, fmt.Errorf("the recipe has no text_encoder")
		}
		ref = *r.TextEncoder
	}
	cfg := er.s.evalEncoderConfig(er.e, ref, 0, init == "random")
	if init == "imagenet" {
		if w, _ := cfg["weights"].(string); w == "" {
			return encoder{}, fmt.Errorf("init imagenet needs %s_encoder.config.weights", role)
		}
	}
	c, err := er.s.opt.Launcher.Encoder(ctx, ref.Plugin, cfg)
	if err != nil {
		return encoder{}, fmt.Errorf("%s_encoder: %w", role, err)
	}
	enc := encoder{client: c, plugin: ref.Plugin, config: cfg, weights: "init"}
	if init != "convirt" {
		return enc, nil
	}
	st, err := er.convirtState(role)
	if err != nil {
		c.Close()
		return encoder{}, err
	}
	if err := c.SetState(ctx, st); err != nil {
		c.Close()
		return encoder{}, fmt.Errorf("%s_encoder: restore the pretrained state: %w", role, err)
	}
	enc.weights = sha256Hex(st)
	return enc, nil
}

// convirtState returns the pretrained state of an encoder role: the
// weights the evaluation's checkpoint_select picks from this run's
// pretraining, or from the evaluation's checkpoint (a run directory, its
// checkpoints directory or a file). Which weights were used is recorded in
// the run's tags and log the first time.
func (er *evalRun) convirtState(role string) ([]byte, error) {
	if er.saved == nil {
		w, err := er.s.pretrainedWeights(er.e)
		if err != nil {
			return nil, err
		}
		if err := er.s.recordWeights(er.e.Name, w); err != nil {
			return nil, err
		}
		er.saved, er.used = w.parts, w.provenance(er.s.run.Dir())
	}
	st, ok := er.saved[role]
	if !ok || len(st) == 0 {
		if role == "text" { // pretrained with a loss that needed none (textEncoderNeeded)
			return nil, errors.New("the pretrained state has no text encoder (its loss trained the image encoder alone, as a captioning loss does): zeroshot and text-image retrieval need a text encoder pretrained beside the image encoder; evaluate this run with an image protocol (linear, finetune, image-image retrieval)")
		}
		return nil, fmt.Errorf("the pretrained state has no %s encoder", role)
	}
	return st, nil
}
