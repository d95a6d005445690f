package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/convirt/convirt/plugins/sdk/atomicfile"
)

// Checkpoint is the full resumable state of a run: the loop's position and
// every plugin's own state.
type Checkpoint struct {
	State state
	Parts map[string][]byte // "image", "text", "loss"
	// Skipped lists the newer checkpoints LoadLatest passed over because they
	// failed to verify, each with the reason. It is not stored.
	Skipped []string
}

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

const ckMagic = "CONVIRT-CKPT-1\n"

func capture(ctx context.Context, p Parts, st state) (*Checkpoint, error) {
	ck := &Checkpoint{State: st, Parts: map[string][]byte{}}
	for name, s := range map[string]interface {
		State(context.Context) ([]byte, error)
	}{"image": p.Image, "text": p.Text, "loss": p.Loss} {
		if s == nil {
			continue // no text encoder: a loss that reads the texts itself
		}
		b, err := s.State(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s state: %w", name, err)
		}
		ck.Parts[name] = b
	}
	return ck, nil
}

func restore(ctx context.Context, p Parts, ck *Checkpoint) error {
	for name, s := range map[string]interface {
		SetState(context.Context, []byte) error
	}{"image": p.Image, "text": p.Text, "loss": p.Loss} {
		if s == nil {
			continue
		}
		b, ok := ck.Parts[name]
		if !ok {
			return fmt.Errorf("checkpoint at step %d has no %s state", ck.State.Step, name)
		}
		if err := s.SetState(ctx, b); err != nil {
			return fmt.Errorf("restore %s state: %w", name, err)
		}
	}
	return nil
}

// Encode writes ck as: magic, a JSON header (loop state, part names and
// sizes), the parts, and a SHA-256 of everything before it.
func (ck *Checkpoint) Encode(w io.Writer) error {
	names := make([]string, 0, len(ck.Parts))
	for n := range ck.Parts {
		names = append(names, n)
	}
	sort.Strings(names)
	sizes := make([]int, len(names))
	for i, n := range names {
		sizes[i] = len(ck.Parts[n])
	}
	hdr, err := json.Marshal(struct {
		State state    `json:"state"`
		Names []string `json:"names"`
		Sizes []int    `json:"sizes"`
	}{ck.State, names, sizes})
	if err != nil {
		return err
	}
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	for _, b := range [][]byte{[]byte(ckMagic), n[:], hdr} {
		if _, err := mw.Write(b); err != nil {
			return err
		}
	}
	for _, name := range names {
		if _, err := mw.Write(ck.Parts[name]); err != nil {
			return err
		}
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

// DecodeCheckpoint reads and verifies a checkpoint written by Encode.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) < len(ckMagic)+8+sha256.Size || string(data[:len(ckMagic)]) != ckMagic {
		return nil, errors.New("not a convirt checkpoint")
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("checksum mismatch: stored %x, computed %x (truncated or corrupt)", sum[:6], got[:6])
	}
	rest := body[len(ckMagic):]
	hl := binary.LittleEndian.Uint64(rest[:8])
	rest = rest[8:]
	if hl > uint64(len(rest)) {
		return nil, errors.New("header length past the end")
	}
	var hdr struct {
		State state
		Names []string
		Sizes []int
	}
	if err := json.Unmarshal(rest[:hl], &hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	rest = rest[hl:]
	if len(hdr.Names) != len(hdr.Sizes) {
		return nil, errors.New("header: names and sizes differ in length")
	}
	ck := &Checkpoint{State: hdr.State, Parts: map[string][]byte{}}
	for i, name := range hdr.Names {
		if hdr.Sizes[i] < 0 || hdr.Sizes[i] > len(rest) {
			return nil, fmt.Errorf("part %s: size %d past the end", name, hdr.Sizes[i])
		}
		ck.Parts[name] = rest[:hdr.Sizes[i]]
		rest = rest[hdr.Sizes[i]:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d stray bytes after the parts", len(rest))
	}
	return ck, nil
}

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

// Step is the optimisation step the checkpoint was taken after.
func (ck *Checkpoint) Step() int { return ck.State.Step }

// ValLoss is the validation loss the checkpoint was kept for: that of the
// validation at its step. ok is false for a checkpoint taken at a step
// without a validation (a rotated step checkpoint usually is one).
func (ck *Checkpoint) ValLoss() (loss float64, ok bool) {
	if !ck.State.HasMinVal || ck.State.MinValStep != ck.State.Step {
		return math.NaN(), false
	}
	return ck.State.MinVal, true
}

// Validated reports whether the run had validated at least once when the
// checkpoint was taken: a run without validation data never writes BestFile.
func (ck *Checkpoint) Validated() bool { return ck.State.HasBest || ck.State.HasMinVal }

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
