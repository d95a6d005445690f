package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/evaluators/results"
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
	bar   *progress.Bar     // one step per init x fraction
}

// evaluateOne runs one evaluation entry for each of its inits.
func (s *session) evaluateOne(ctx context.Context, e recipe.Eval) ([]results.Entry, error) {
	l := s.opt.Launcher
	var open []closer
	defer func() { closeAll(open) }()
	d, err := l.Dataset(ctx, e.Dataset.Plugin, e.Dataset.Config)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	open = append(open, d)
	ev, err := l.Evaluator(ctx, e.Evaluator.Plugin, e.Evaluator.Config)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	open = append(open, ev)
	er := &evalRun{s: s, e: e, data: dataset{client: d, plugin: e.Dataset.Plugin, config: e.Dataset.Config}, ev: ev}
	cells := len(e.Inits)
	if e.Protocol == "linear" || e.Protocol == "finetune" {
		cells *= len(e.Fractions)
	}
	er.bar = progress.New(s.opt.Progress, int64(cells), "evaluate "+e.Name)
	defer er.bar.Finish()
	for _, init := range e.Inits {
		if err := er.runInit(ctx, init); err != nil {
			return nil, fmt.Errorf("init %s: %w", init, err)
		}
	}
	return er.out, nil
}

// runInit evaluates the encoders of one initialisation.
func (er *evalRun) runInit(ctx context.Context, init string) error {
	if er.e.Protocol == "finetune" { // starts its own encoder per probe
		return er.finetune(ctx, init, encoder{})
	}
	img, err := er.encoder(ctx, "image", init)
	if err != nil {
		return err
	}
	defer img.client.Close()
	switch er.e.Protocol {
	case "linear":
		return er.linear(ctx, init, img)
	case "retrieval":
		return er.retrieval(ctx, init, img)
	case "zeroshot":
		return er.zeroshot(ctx, init, img)
	}
	return fmt.Errorf("protocol %q is not supported by convirt run yet", er.e.Protocol)
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
	cfg := er.s.encoderConfig(ref.Plugin, ref.Config, 0, init == "random")
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

// convirtState returns the pretrained state of an encoder role: this run's
// when it pretrained, else the newest checkpoint of the evaluation's
// checkpoint (a run directory, its checkpoints directory or a file).
func (er *evalRun) convirtState(role string) ([]byte, error) {
	if er.saved == nil {
		switch {
		case er.e.Checkpoint != "":
			ck, err := loadCheckpoint(er.e.Checkpoint)
			if err != nil {
				return nil, fmt.Errorf("checkpoint: %w", err)
			}
			er.saved = ck.Parts
		case er.s.states != nil:
			er.saved = er.s.states
		default:
			return nil, fmt.Errorf("init convirt needs pretraining in this recipe (data.pretrain) or evaluate.checkpoint")
		}
	}
	st, ok := er.saved[role]
	if !ok || len(st) == 0 {
		return nil, fmt.Errorf("the pretrained state has no %s encoder", role)
	}
	return st, nil
}

// loadCheckpoint reads the newest valid checkpoint under path: a run
// directory, a checkpoints directory or one checkpoint file.
func loadCheckpoint(path string) (*train.Checkpoint, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ck, err := train.DecodeCheckpoint(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return ck, nil
	}
	if sub := filepath.Join(path, runs.CheckpointsDir); dirExists(sub) {
		path = sub
	}
	return train.LoadLatest(path)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
