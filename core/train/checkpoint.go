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
	"sort"
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
