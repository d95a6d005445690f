package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// evalFlagEnc is a linear encoder that remembers whether its last forward
// was a validation one (no training), so that scriptedLoss can tell
// validation losses from training ones: the loop calls the image encoder's
// forward and then the loss one after the other.
type evalFlagEnc struct {
	*linEnc
	validating bool
}

func (e *evalFlagEnc) Forward(ctx context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	e.validating = !req.Train
	return e.linEnc.Forward(ctx, req)
}

// scriptedLoss is sqLoss for training; each validation batch gets the next
// loss of script (one validation batch per epoch in these tests).
type scriptedLoss struct {
	sqLoss
	img    *evalFlagEnc
	script []float64
}

func (l *scriptedLoss) Compute(ctx context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	res, err := l.sqLoss.Compute(ctx, v, u)
	if err == nil && l.img.validating {
		if len(l.script) == 0 {
			return res, errors.New("validation past the end of the script")
		}
		res.Loss, l.script = l.script[0], l.script[1:]
	}
	return res, err
}

// scriptedParts trains on 40 pairs with one 8-pair validation batch per
// epoch whose losses are script.
func scriptedParts(script ...float64) (Parts, *linEnc) {
	img := &evalFlagEnc{linEnc: newLinEnc(false, 1)}
	return Parts{Image: img, Text: newLinEnc(true, 2), Loss: &scriptedLoss{img: img, script: script}, Data: pairs{n: 40}}, img.linEnc
}

// bestConfig: 5 steps per epoch, a validation after each, a step checkpoint
// every 2 steps of which the rotation keeps 2.
func bestConfig(dir string, maxSteps int) Config {
	return Config{BatchSize: 8, MaxSteps: maxSteps, Seed: 5, ValSplit: "val", ValMaxBatches: 1, CheckpointDir: dir, CheckpointEvery: 2}
}

// weightsAt is the image encoder's state after steps steps of the same
// training (the validation losses do not change the weights).
func weightsAt(t *testing.T, steps int) []byte {
	t.Helper()
	p, img := scriptedParts(9, 9, 9, 9, 9, 9, 9, 9)
	if _, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: steps, Seed: 5, ValSplit: "val", ValMaxBatches: 1}, p); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(img.W)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkBest(t *testing.T, dir string, step int, loss float64, weights []byte) {
	t.Helper()
	ck, err := LoadBest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := ck.ValLoss(); ck.Step() != step || !ok || v != loss {
		t.Errorf("best checkpoint at step %d with validation loss %v (%v), want step %d and %v", ck.Step(), v, ok, step, loss)
	}
	if !reflect.DeepEqual(ck.Parts["image"], weights) {
		t.Errorf("best checkpoint's image weights %s, want those after step %d: %s", ck.Parts["image"], step, weights)
	}
}

// TestBestCheckpointSurvivesRotation: the lowest validation loss is at epoch
// 4 (step 20); by step 30 the rotation has removed every step checkpoint
// but 28 and 30, and best.ckpt still holds the weights of step 20.
func TestBestCheckpointSurvivesRotation(t *testing.T) {
	dir := t.TempDir()
	p, _ := scriptedParts(3, 2, 2.5, 1.5, 1.8, 1.9)
	res, err := Run(context.Background(), bestConfig(dir, 30), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestStep != 20 || res.MinValLoss != 1.5 {
		t.Errorf("result: best step %d, loss %v; want 20 and 1.5", res.BestStep, res.MinValLoss)
	}
	steps, err := listCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(steps, []int{28, 30}) {
		t.Errorf("step checkpoints %v, want the rotation's [28 30]", steps)
	}
	checkBest(t, dir, 20, 1.5, weightsAt(t, 20))
	latest, err := LoadLatest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Step() != 30 {
		t.Errorf("latest checkpoint at step %d, want 30", latest.Step())
	}
	if _, ok := latest.ValLoss(); ok {
		t.Error("the last checkpoint (after no validation) claims a validation loss")
	}
}

// TestResumeKeepsBestCheckpoint: the run dies after best.ckpt (step 20) was
// written but before the next step checkpoint survived; the resumed run
// restarts from step 18, measures a worse loss at step 20 (as a
// non-deterministic device may) and must keep the better checkpoint. Resume
// still continues from the newest step checkpoint.
func TestResumeKeepsBestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	p, _ := scriptedParts(3, 2, 2.5, 1.5)
	cfg := bestConfig(dir, 21)
	cfg.CheckpointEvery = 3 // step checkpoints 18 and 21 stay
	if _, err := Run(context.Background(), cfg, p); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, StepFile(21))); err != nil { // lost with the crash
		t.Fatal(err)
	}
	p2, img := scriptedParts(1.7, 1.8, 1.9)
	cfg.MaxSteps, cfg.Resume = 30, true
	res, err := Run(context.Background(), cfg, p2)
	if err != nil {
		t.Fatal(err)
	}
	if img.steps != 12 {
		t.Errorf("resumed run took %d steps, want 12 (from step 18)", img.steps)
	}
	if res.BestStep != 20 || res.MinValLoss != 1.5 {
		t.Errorf("result: best step %d, loss %v; want 20 and 1.5", res.BestStep, res.MinValLoss)
	}
	checkBest(t, dir, 20, 1.5, weightsAt(t, 20))
}

// TestBestCheckpointWithoutValidation: no validation split, no best
// checkpoint; a fresh run removes a stale one left in its directory.
func TestBestCheckpointWithoutValidation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, BestFile), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, _ := newParts()
	res, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 10, Seed: 1, CheckpointDir: dir, CheckpointEvery: 5}, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestStep != 0 || !math.IsNaN(res.MinValLoss) {
		t.Errorf("result: best step %d, loss %v; want 0 and NaN", res.BestStep, res.MinValLoss)
	}
	if _, err := LoadBest(dir); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("LoadBest: %v, want ErrNoCheckpoint", err)
	}
	ck, err := LoadLatest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Validated() {
		t.Error("a run without validation data says it validated")
	}
}

// TestResumeReplacesDamagedBest: a damaged best checkpoint is reported and
// the next validation writes a good one.
func TestResumeReplacesDamagedBest(t *testing.T) {
	dir := t.TempDir()
	p, _ := scriptedParts(3, 2)
	if _, err := Run(context.Background(), bestConfig(dir, 10), p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, BestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	p2, _ := scriptedParts(2.2)
	cfg := bestConfig(dir, 15)
	cfg.Resume = true
	res, err := Run(context.Background(), cfg, p2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SkippedCheckpoints) != 1 {
		t.Errorf("skipped %q, want the damaged best checkpoint", res.SkippedCheckpoints)
	}
	checkBest(t, dir, 15, 2.2, weightsAt(t, 15))
}
