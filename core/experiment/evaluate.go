package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/progress"
	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
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
		return nil, fmt.Errorf("the pretrained state has no %s encoder", role)
	}
	return st, nil
}

// weights are the pretrained encoder states init convirt restores, with
// where they came from.
type weights struct {
	parts   map[string][]byte // encoder states by role: "image", "text"
	asked   string            // checkpoint_select
	used    string            // "best", "last" or "file"
	step    int               // the pretraining step of the weights
	valLoss float64           // the validation loss they were kept for; NaN: none
	source  string            // the checkpoint file, or this run's final state
	note    string            // why best became last, or checkpoints passed over
}

// provenance is w as results.json records it. A checkpoint of this run
// (runDir) is named relative to the run directory, so that results.json
// repeats bit for bit when the run is repeated.
func (w weights) provenance(runDir string) *results.Weights {
	p := &results.Weights{Select: w.asked, Used: w.used, Step: w.step, Source: w.source, Note: w.note}
	if rel, err := filepath.Rel(runDir, w.source); err == nil && filepath.IsAbs(w.source) == filepath.IsAbs(runDir) && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		p.Source = filepath.ToSlash(rel)
	}
	if !math.IsNaN(w.valLoss) {
		v := w.valLoss
		p.ValLoss = &v
	}
	return p
}

// finalState names the weights this run's pretraining ended with.
const finalState = "the encoders at the end of this run's pretraining"

// pretrainedWeights picks the weights of evaluation e's init convirt.
func (s *session) pretrainedWeights(e recipe.Eval) (weights, error) {
	sel := e.CheckpointSelect
	if sel == "" {
		sel = recipe.CheckpointBest
	}
	switch {
	case e.Checkpoint != "":
		return selectCheckpoint(e.Checkpoint, sel)
	case s.states != nil && s.trained != nil:
		return s.trained.weights(sel, s.states)
	}
	return weights{}, fmt.Errorf("init convirt needs pretraining in this recipe (data.pretrain) or evaluate.checkpoint")
}

// weights picks this run's best or last (final) weights. Without
// validation data there is no best checkpoint, and best falls back to the
// last weights with a note.
func (p *pretrainOutcome) weights(sel string, final map[string][]byte) (weights, error) {
	res := p.result
	last := weights{parts: final, asked: sel, used: recipe.CheckpointLast, step: res.Steps, valLoss: math.NaN(), source: finalState}
	if res.BestStep == res.Steps && !math.IsNaN(res.MinValLoss) {
		last.valLoss = res.MinValLoss // the last weights are also the best
	}
	if sel == recipe.CheckpointLast {
		return last, nil
	}
	if math.IsNaN(res.MinValLoss) {
		last.note = "no best checkpoint: data.pretrain has no validation split, so the last weights are used"
		if p.valSplit != "" {
			last.note = fmt.Sprintf("no best checkpoint: no finite validation loss on split %q, so the last weights are used", p.valSplit)
		}
		return last, nil
	}
	ck, err := train.LoadBest(p.checkpoints)
	if err != nil {
		return weights{}, fmt.Errorf("best checkpoint of this run: %w", err)
	}
	if ck.Step() != res.BestStep {
		return weights{}, fmt.Errorf("best checkpoint %s is of step %d, but the lowest validation loss was at step %d",
			filepath.Join(p.checkpoints, train.BestFile), ck.Step(), res.BestStep)
	}
	return fromCheckpoint(ck, sel, recipe.CheckpointBest, filepath.Join(p.checkpoints, train.BestFile)), nil
}

// selectCheckpoint reads the weights under path: one checkpoint file, used
// as it is, or a run directory or checkpoints directory, of which sel picks
// the best checkpoint or the newest valid one. A directory whose run never
// validated has no best checkpoint: best falls back to the newest with a
// note. One whose run validated but lacks best.ckpt (an older convirt wrote
// it) is an error, so the last weights are never taken for the best silently.
func selectCheckpoint(path, sel string) (weights, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return weights{}, fmt.Errorf("checkpoint: %w", err)
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return weights{}, fmt.Errorf("checkpoint: %w", err)
		}
		ck, err := train.DecodeCheckpoint(b)
		if err != nil {
			return weights{}, fmt.Errorf("checkpoint %s: %w", path, err)
		}
		return fromCheckpoint(ck, sel, "file", path), nil
	}
	if sub := filepath.Join(path, runs.CheckpointsDir); dirExists(sub) {
		path = sub
	}
	if sel == recipe.CheckpointBest {
		ck, err := train.LoadBest(path)
		if err == nil {
			return fromCheckpoint(ck, sel, recipe.CheckpointBest, filepath.Join(path, train.BestFile)), nil
		}
		if !errors.Is(err, train.ErrNoCheckpoint) {
			return weights{}, fmt.Errorf("checkpoint: %w", err)
		}
	}
	ck, err := train.LoadLatest(path)
	if err != nil {
		return weights{}, fmt.Errorf("checkpoint: %w", err)
	}
	w := fromCheckpoint(ck, sel, recipe.CheckpointLast, filepath.Join(path, train.StepFile(ck.Step())))
	var notes []string
	if sel == recipe.CheckpointBest {
		if ck.Validated() {
			return weights{}, fmt.Errorf("checkpoint: %s has no %s although its pretraining validated (written by an older convirt, or removed): set checkpoint_select: last to use its last weights",
				path, train.BestFile)
		}
		notes = append(notes, fmt.Sprintf("no best checkpoint: the pretraining in %s had no validation data, so the last weights are used", path))
	}
	for _, sk := range ck.Skipped {
		notes = append(notes, "skipped corrupt checkpoint "+sk)
	}
	w.note = strings.Join(notes, "; ")
	return w, nil
}

// fromCheckpoint describes the weights of checkpoint ck read from source.
func fromCheckpoint(ck *train.Checkpoint, asked, used, source string) weights {
	v, _ := ck.ValLoss()
	return weights{parts: ck.Parts, asked: asked, used: used, step: ck.Step(), valLoss: v, source: source}
}

// recordWeights logs which weights evaluation name's init convirt uses and
// records them in the run's tags (evaluate.NAME.checkpoint*), so that the
// results say which checkpoint they measure. A fallback is also shown on
// the terminal.
func (s *session) recordWeights(name string, w weights) error {
	prefix := "evaluate." + name + ".checkpoint"
	tags := map[string]string{
		prefix:             w.used,
		prefix + "_select": w.asked,
		prefix + "_step":   strconv.Itoa(w.step),
		prefix + "_source": w.source,
	}
	desc := fmt.Sprintf("%s weights of step %d", w.used, w.step)
	if !math.IsNaN(w.valLoss) {
		tags[prefix+"_val_loss"] = strconv.FormatFloat(w.valLoss, 'g', -1, 64)
		desc += fmt.Sprintf(" (validation loss %.6g)", w.valLoss)
	}
	fmt.Fprintf(s.log, "evaluation %s: init convirt uses the %s from %s\n", name, desc, w.source)
	if w.note != "" {
		tags[prefix+"_note"] = w.note
		fmt.Fprintf(s.log, "evaluation %s: %s\n", name, w.note)
		fmt.Fprintf(s.opt.Progress, "evaluation %s: %s\n", name, w.note)
	}
	return s.tracker.SetTags(tags)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
