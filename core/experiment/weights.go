package experiment

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/results"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
)

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
		path, err := ResolveCheckpoint(s.r.Output, e.Checkpoint)
		if err != nil {
			return weights{}, fmt.Errorf("evaluation %s: %w", e.Name, err)
		}
		return selectCheckpoint(path, sel)
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

// LatestPrefix starts the checkpoint reference `latest:EXPERIMENT`: the
// newest finished run of EXPERIMENT in the run store (the recipe's output)
// that kept checkpoints. Runs are saved as OUTPUT/EXPERIMENT/RUN_ID, so an
// evaluation recipe cannot name its pretraining's directory before it exists;
// it names the experiment instead.
const LatestPrefix = "latest:"

// ResolveCheckpoint returns the path an evaluation's checkpoint reference
// names: for `latest:EXPERIMENT`, the directory of the newest finished run of
// EXPERIMENT under store that has a checkpoint (a sweep's parent, an
// evaluation-only run or a failed or still running pretraining is passed
// over); any other reference is a path and is returned as it is.
func ResolveCheckpoint(store, ref string) (string, error) {
	exp, ok := strings.CutPrefix(ref, LatestPrefix)
	if !ok {
		return ref, nil
	}
	if err := runs.ValidName(exp); err != nil {
		return "", fmt.Errorf("checkpoint %q: want %sEXPERIMENT, the experiment of a pretraining recipe: %w", ref, LatestPrefix, err)
	}
	finished, err := runs.List(store, runs.Filter{Experiment: exp, Status: runs.Finished})
	if err != nil {
		return "", fmt.Errorf("checkpoint %q: %w", ref, err)
	}
	for _, m := range finished {
		if hasCheckpoint(m.Dir) {
			return m.Dir, nil
		}
	}
	why := "no finished run"
	if len(finished) > 0 {
		why = fmt.Sprintf("%d finished run(s), none with a checkpoint (not a pretraining)", len(finished))
	}
	return "", fmt.Errorf("checkpoint %q: %s of experiment %q in the run store %s: run the pretraining recipe whose experiment is %s first (`convirt runs list` shows the runs), or set checkpoint to a run directory",
		ref, why, exp, filepath.Join(store, exp), exp)
}

// hasCheckpoint reports whether run directory dir holds a checkpoint file.
func hasCheckpoint(dir string) bool {
	found, _ := filepath.Glob(filepath.Join(dir, runs.CheckpointsDir, "*.ckpt"))
	return len(found) > 0
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
