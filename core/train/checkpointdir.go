package train

// A run's checkpoint directory: a step checkpoint every train.checkpoint_every
// steps (the newest keepCheckpoints kept), the best one (BestFile), and
// which of them a resume loads.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// ErrNoCheckpoint is returned by LoadLatest when a directory has none.
var ErrNoCheckpoint = errors.New("no checkpoint")

// keepCheckpoints is how many step checkpoints stay on disk; older ones
// go. BestFile is apart from the rotation.
const keepCheckpoints = 2

// BestFile is the checkpoint of the lowest validation loss so far, kept in
// the checkpoint directory beside the rotated step checkpoints and never
// removed by the rotation: the weights an evaluation uses by default. Its
// loop state records the step it was taken at and the validation loss.
const BestFile = "best.ckpt"

// StepFile is the file name of the step checkpoint taken after step.
func StepFile(step int) string { return fmt.Sprintf("step-%09d.ckpt", step) }

// Save writes ck into dir atomically (plugins/sdk/atomicfile), then removes all but
// the newest checkpoints. A crash at
// any point leaves the previous checkpoint intact.
func Save(dir string, ck *Checkpoint) error {
	if err := atomicfile.WriteFunc(filepath.Join(dir, StepFile(ck.State.Step)), 0o644, ck.Encode); err != nil {
		return err
	}
	steps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for i := 0; i < len(steps)-keepCheckpoints; i++ {
		os.Remove(filepath.Join(dir, StepFile(steps[i])))
	}
	return nil
}

// listCheckpoints returns the steps of the checkpoints in dir, oldest first.
func listCheckpoints(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var steps []int
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "step-") || !strings.HasSuffix(name, ".ckpt") {
			continue
		}
		if s, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "step-"), ".ckpt")); err == nil {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// LoadBest reads and verifies BestFile in dir. Without one the error wraps
// ErrNoCheckpoint.
func LoadBest(dir string) (*Checkpoint, error) {
	path := filepath.Join(dir, BestFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNoCheckpoint, BestFile, dir)
	}
	if err != nil {
		return nil, err
	}
	ck, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := ck.ValLoss(); !ok {
		return nil, fmt.Errorf("%s: records no validation loss at its step %d", path, ck.State.Step)
	}
	return ck, nil
}

// saveBest writes ck as dir's BestFile atomically (plugins/sdk/atomicfile): a crash
// leaves the previous best checkpoint.
func saveBest(dir string, ck *Checkpoint) error {
	return atomicfile.WriteFunc(filepath.Join(dir, BestFile), 0o644, ck.Encode)
}

// LoadLatest returns the newest checkpoint in dir that verifies. A corrupt
// newer one is skipped for the previous one and listed in Skipped.
func LoadLatest(dir string) (*Checkpoint, error) {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	for i := len(steps) - 1; i >= 0; i-- {
		path := filepath.Join(dir, StepFile(steps[i]))
		data, err := os.ReadFile(path)
		if err == nil {
			var ck *Checkpoint
			if ck, err = DecodeCheckpoint(data); err == nil {
				ck.Skipped = problems
				return ck, nil
			}
		}
		problems = append(problems, fmt.Sprintf("%s: %v", path, err))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("no valid checkpoint in %s: %s", dir, strings.Join(problems, "; "))
	}
	return nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, dir)
}

// LoadStep returns dir's checkpoint of step, which must verify.
func LoadStep(dir string, step int) (*Checkpoint, error) {
	path := filepath.Join(dir, StepFile(step))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the checkpoint of step %d: %w", step, err)
	}
	ck, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ck, nil
}

// Checkpoints lists the steps of dir's step checkpoints, oldest first,
// from their names alone (LoadLatest checks their content): what a run can
// resume from, asked cheaply before any plugin starts.
func Checkpoints(dir string) ([]int, error) { return listCheckpoints(dir) }

// Clear removes dir's step checkpoints and BestFile, for a run started
// over: left behind, a stale newer step would be resumed from, and would
// make the rotation remove the new run's own checkpoints.
func Clear(dir string) error {
	steps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	names := []string{BestFile}
	for _, s := range steps {
		names = append(names, StepFile(s))
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
