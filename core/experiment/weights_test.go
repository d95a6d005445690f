package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// countEnc is an encoder whose state is the number of optimiser steps it
// took, so a checkpoint's weights say which step they are of. Its output is
// 1 for validation pairs and 0 for training ones, which tells scriptLoss
// which is which.
type countEnc struct{ Steps int }

func (e *countEnc) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	out := make([]float32, len(req.Batch.IDs))
	for i, id := range req.Batch.IDs {
		if strings.HasPrefix(id, "val") {
			out[i] = 1
		}
	}
	return tensor.FromFloat32([]int64{int64(len(out)), 1}, out)
}
func (e *countEnc) Backward(context.Context, *tensor.Tensor) error { return nil }
func (e *countEnc) Step(context.Context, sdk.StepRequest) error    { e.Steps++; return nil }
func (e *countEnc) State(context.Context) ([]byte, error)          { return json.Marshal(e) }
func (e *countEnc) SetState(_ context.Context, b []byte) error     { return json.Unmarshal(b, e) }

// scriptLoss returns 1 on training batches and the next loss of its script
// on validation ones.
type scriptLoss struct{ script []float64 }

func (l *scriptLoss) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	x, err := v.Float32s()
	if err != nil {
		return sdk.LossResult{}, err
	}
	loss := 1.0
	if x[0] == 1 {
		loss, l.script = l.script[0], l.script[1:]
	}
	zero := func(t *tensor.Tensor) *tensor.Tensor {
		z, _ := tensor.FromFloat32(t.Shape, make([]float32, tensor.Numel(t.Shape)))
		return z
	}
	return sdk.LossResult{Loss: loss, GradV: zero(v), GradU: zero(u)}, nil
}
func (l *scriptLoss) Step(context.Context) error             { return nil }
func (l *scriptLoss) State(context.Context) ([]byte, error)  { return []byte("{}"), nil }
func (l *scriptLoss) SetState(context.Context, []byte) error { return nil }

// toyPairs has 16 training and 4 validation pairs.
type toyPairs struct{}

func (toyPairs) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	n := 16
	if split == "val" {
		n = 4
	}
	return sdk.SplitInfo{Name: split, Len: n, Task: sdk.TaskPaired}, nil
}

func (toyPairs) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{}
	for _, i := range req.Indices {
		b.IDs = append(b.IDs, req.Split+"-"+string(rune('a'+i)))
		b.Texts = append(b.Texts, "text")
	}
	var err error
	b.Images, err = tensor.FromFloat32([]int64{int64(len(req.Indices)), 1}, make([]float32, len(req.Indices)))
	return b, err
}

// toyValLosses are the validation losses of pretrainToy's epochs: the best
// weights are those of step 8, the last those of step 16.
var toyValLosses = []float64{3, 1, 2, 2.5}

// pretrainToy pretrains for 4 epochs of 4 steps into dir's checkpoints,
// validating after each epoch with toyValLosses when validate is set.
func pretrainToy(t *testing.T, dir string, validate bool) train.Result {
	t.Helper()
	return pretrainScript(t, dir, validate, toyValLosses)
}

func pretrainScript(t *testing.T, dir string, validate bool, valLosses []float64) train.Result {
	t.Helper()
	cfg := train.Config{BatchSize: 4, Epochs: 4, Seed: 1, CheckpointDir: filepath.Join(dir, runs.CheckpointsDir), CheckpointEvery: 1}
	if validate {
		cfg.ValSplit = "val"
	}
	res, err := train.Run(context.Background(), cfg, train.Parts{Image: &countEnc{}, Text: &countEnc{},
		Loss: &scriptLoss{script: valLosses}, Data: toyPairs{}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// stepsOf is the step count an encoder state holds.
func stepsOf(t *testing.T, state []byte) int {
	t.Helper()
	var e countEnc
	if err := json.Unmarshal(state, &e); err != nil {
		t.Fatalf("state %q: %v", state, err)
	}
	return e.Steps
}

func checkWeights(t *testing.T, w weights, used string, step int, valLoss float64) {
	t.Helper()
	if w.used != used || w.step != step || stepsOf(t, w.parts["image"]) != step || stepsOf(t, w.parts["text"]) != step {
		t.Errorf("weights %s of step %d (image state %s), want %s of step %d", w.used, w.step, w.parts["image"], used, step)
	}
	if !(w.valLoss == valLoss || math.IsNaN(w.valLoss) && math.IsNaN(valLoss)) {
		t.Errorf("validation loss %v, want %v", w.valLoss, valLoss)
	}
}

// TestSelectCheckpoint picks from a pretraining run directory: best is
// step 8 although the rotation removed its step checkpoint, last is step
// 16; a checkpoint file is used as it is.
func TestSelectCheckpoint(t *testing.T) {
	dir := t.TempDir()
	res := pretrainToy(t, dir, true)
	if res.BestStep != 8 || res.Steps != 16 {
		t.Fatalf("toy pretraining: best step %d, last %d", res.BestStep, res.Steps)
	}
	if _, err := os.Stat(filepath.Join(dir, runs.CheckpointsDir, train.StepFile(8))); !os.IsNotExist(err) {
		t.Fatalf("the rotation kept step 8 (%v): the test needs it gone", err)
	}
	for _, path := range []string{dir, filepath.Join(dir, runs.CheckpointsDir)} {
		w, err := selectCheckpoint(path, recipe.CheckpointBest)
		if err != nil {
			t.Fatal(err)
		}
		checkWeights(t, w, "best", 8, 1)
		if w.note != "" || !strings.HasSuffix(w.source, train.BestFile) {
			t.Errorf("best from %s: source %s, note %q", path, w.source, w.note)
		}
		if w, err = selectCheckpoint(path, recipe.CheckpointLast); err != nil {
			t.Fatal(err)
		}
		checkWeights(t, w, "last", 16, math.NaN())
	}
	w, err := selectCheckpoint(filepath.Join(dir, runs.CheckpointsDir, train.BestFile), recipe.CheckpointLast)
	if err != nil {
		t.Fatal(err)
	}
	checkWeights(t, w, "file", 8, 1)
}

// TestSelectCheckpointWithoutBest: a pretraining without validation data
// has no best checkpoint, and best falls back to the last weights with a
// note; one that validated but lost best.ckpt is an error.
func TestSelectCheckpointWithoutBest(t *testing.T) {
	plain := t.TempDir()
	pretrainToy(t, plain, false)
	w, err := selectCheckpoint(plain, recipe.CheckpointBest)
	if err != nil {
		t.Fatal(err)
	}
	checkWeights(t, w, "last", 16, math.NaN())
	if !strings.Contains(w.note, "no validation data") {
		t.Errorf("note %q does not say why best became last", w.note)
	}
	if w, _ = selectCheckpoint(plain, recipe.CheckpointLast); w.note != "" {
		t.Errorf("last asked for: note %q", w.note)
	}

	validated := t.TempDir()
	pretrainToy(t, validated, true)
	if err := os.Remove(filepath.Join(validated, runs.CheckpointsDir, train.BestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := selectCheckpoint(validated, recipe.CheckpointBest); err == nil || !strings.Contains(err.Error(), "checkpoint_select: last") {
		t.Errorf("validated run without best.ckpt: err = %v", err)
	}
}

const weightsRecipe = `name: w
image_encoder: {plugin: smallcnn}
evaluate:
  - name: probe
    evaluator: {plugin: linear}
    dataset: {plugin: chexpert}
    protocol: linear
`

// toySession is a session over a fresh run whose pretraining was
// pretrainToy's, ending with its last weights.
func toySession(t *testing.T, validate bool) (*session, *bytes.Buffer) {
	t.Helper()
	return scriptSession(t, validate, toyValLosses)
}

func scriptSession(t *testing.T, validate bool, valLosses []float64) (*session, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	run, err := runs.Create(filepath.Join(dir, "runs"), "e", runs.Options{Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	res := pretrainScript(t, run.Dir(), validate, valLosses)
	logf, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	var progress bytes.Buffer
	final, _ := json.Marshal(countEnc{Steps: res.Steps})
	s := &session{opt: Options{Progress: &progress}, run: run, tracker: runs.Multi{run}, log: logf,
		states:  map[string][]byte{"image": final, "text": final},
		trained: &pretrainOutcome{checkpoints: filepath.Join(run.Dir(), runs.CheckpointsDir), result: res}}
	if validate {
		s.trained.valSplit = "val"
	}
	return s, &progress
}
