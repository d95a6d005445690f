// Package export is `convirt export` and `convirt weights convert`: a
// run's pretrained encoders written out for PyTorch (torchvision and
// Hugging Face names, .safetensors, a README saying what each file is and
// how it was trained), and weights files converted in. It reads the
// built-in encoders' state layout (plugins/encoders/torchenc) and their
// configs, so it sits with the CLI, the one layer that may name
// implementations; docs/weights.md describes both directions.
package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/models/safetensors"
)

// The values of --checkpoint besides step-N.
const (
	Best = "best"
	Last = "last"
)

// Files written into the output directory.
const (
	ImageFile     = "image.safetensors"      // the image network, torchvision names
	ImageHeadFile = "image-head.safetensors" // its projection head
	TextDir       = "text"                   // the text network, a Hugging Face BERT directory
	TextHeadFile  = "text-head.safetensors"  // its projection head
	ReadmeFile    = "README.md"
)

// The names an encoder's state gives its tensors (plugins/encoders/torchenc,
// state.go): the network under net., the projection head under head.
const (
	netPrefix  = "model/net."
	headPrefix = "model/head."
)

// Checkpoint is a checkpoint picked from a run, with where it came from.
type Checkpoint struct {
	*train.Checkpoint
	Path string // the file read
	Used string // best, last or step-N
	Note string // why best became last
}

// Pick reads the checkpoint sel names from the run directory run: best
// (checkpoints/best.ckpt, the lowest validation loss; for a run that never
// validated, the last with a note), last (the newest valid step
// checkpoint) or step-N.
func Pick(run, sel string) (*Checkpoint, error) {
	dir := filepath.Join(run, runs.CheckpointsDir)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%s is not a run directory with checkpoints: %w", run, err)
	}
	switch {
	case sel == Best:
		ck, err := train.LoadBest(dir)
		if err == nil {
			return &Checkpoint{Checkpoint: ck, Path: filepath.Join(dir, train.BestFile), Used: Best}, nil
		}
		if !errors.Is(err, train.ErrNoCheckpoint) {
			return nil, err
		}
		last, lerr := Pick(run, Last)
		if lerr != nil {
			return nil, lerr
		}
		if last.Validated() {
			return nil, fmt.Errorf("%s has no %s although its pretraining validated: use --checkpoint last or step-N", dir, train.BestFile)
		}
		last.Note = "the pretraining had no validation data, so there is no best checkpoint: these are the last weights"
		return last, nil
	case sel == Last:
		ck, err := train.LoadLatest(dir)
		if err != nil {
			return nil, err
		}
		c := &Checkpoint{Checkpoint: ck, Path: filepath.Join(dir, train.StepFile(ck.Step())), Used: Last}
		if len(ck.Skipped) > 0 {
			c.Note = "skipped corrupt checkpoints: " + strings.Join(ck.Skipped, "; ")
		}
		return c, nil
	case strings.HasPrefix(sel, "step-"):
		n, err := strconv.Atoi(strings.TrimPrefix(sel, "step-"))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--checkpoint %q: want best, last or step-N", sel)
		}
		path := filepath.Join(dir, train.StepFile(n))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint %s: %w (the newest two step checkpoints are kept; %s holds %s)", sel, err, dir, ckptFiles(dir))
		}
		ck, err := train.DecodeCheckpoint(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &Checkpoint{Checkpoint: ck, Path: path, Used: sel}, nil
	}
	return nil, fmt.Errorf("--checkpoint %q: want best, last or step-N", sel)
}

// ckptFiles lists the checkpoint files in dir, for an error.
func ckptFiles(dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".ckpt") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Result says what Export wrote.
type Result struct {
	Out        string
	Checkpoint *Checkpoint
	Files      []string // relative to Out
}

// Export writes the encoders of run's checkpoint sel into the directory
// out, which must not exist or be empty. Everything is written into a
// temporary directory beside out and renamed into place, so out is whole
// or absent.
func Export(run, sel, out string) (*Result, error) {
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("--out %s exists and is not empty: name a new directory", out)
	}
	ck, err := Pick(run, sel)
	if err != nil {
		return nil, err
	}
	r, err := recipe.LoadRun(run, nil)
	if err != nil {
		return nil, fmt.Errorf("the run's recipe: %w", err)
	}
	meta, err := runs.ReadMeta(run)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := &Result{Out: out, Checkpoint: ck}
	doc := readme{Recipe: r, Meta: meta, Run: run, Checkpoint: ck}
	image, ok := ck.Parts["image"]
	if !ok {
		return nil, fmt.Errorf("%s has no image encoder state", ck.Path)
	}
	if doc.Image, err = writeEncoder(tmp, image, ImageFile, ImageHeadFile); err != nil {
		return nil, fmt.Errorf("image encoder (%s) of %s: %w", r.ImageEncoder.Plugin, ck.Path, err)
	}
	res.Files = append(res.Files, ImageFile, ImageHeadFile)
	if text, ok := ck.Parts["text"]; ok && r.TextEncoder != nil {
		if err := os.Mkdir(filepath.Join(tmp, TextDir), 0o755); err != nil {
			return nil, err
		}
		if doc.Text, err = writeEncoder(tmp, text, filepath.Join(TextDir, "model.safetensors"), TextHeadFile); err != nil {
			return nil, fmt.Errorf("text encoder (%s) of %s: %w", r.TextEncoder.Plugin, ck.Path, err)
		}
		files, bc, err := writeBERTDir(filepath.Join(tmp, TextDir), r.TextEncoder, doc.Text.net)
		if err != nil {
			return nil, fmt.Errorf("text encoder (%s): %w", r.TextEncoder.Plugin, err)
		}
		doc.BERT = bc
		res.Files = append(res.Files, filepath.Join(TextDir, "model.safetensors"))
		for _, f := range files {
			res.Files = append(res.Files, filepath.Join(TextDir, f))
		}
		res.Files = append(res.Files, TextHeadFile)
	}
	if err := os.WriteFile(filepath.Join(tmp, ReadmeFile), []byte(doc.String()), 0o644); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, ReadmeFile)
	os.Remove(out) // an empty directory, or nothing
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

// encoder is an exported encoder: its network's tensors (names without the
// state's prefix) and the head's sizes.
type encoder struct {
	net                         *safetensors.File
	headIn, headHidden, headOut int64
}

// writeEncoder splits the encoder state into the network (netFile) and the
// projection head (headFile), both .safetensors under dir.
func writeEncoder(dir string, state []byte, netFile, headFile string) (*encoder, error) {
	f, err := safetensors.Parse(state)
	if err != nil {
		return nil, fmt.Errorf("state: %w (not a built-in encoder's state: export reads those, plugins/encoders/torchenc)", err)
	}
	net := &safetensors.File{Tensors: map[string]safetensors.Tensor{}}
	head := &safetensors.File{Tensors: map[string]safetensors.Tensor{}}
	for name, t := range f.Tensors {
		if rest, ok := strings.CutPrefix(name, netPrefix); ok {
			net.Tensors[rest] = t
		} else if rest, ok := strings.CutPrefix(name, headPrefix); ok {
			head.Tensors[rest] = t
		}
	}
	if len(net.Tensors) == 0 || len(head.Tensors) == 0 {
		return nil, fmt.Errorf("state has no %s* or %s* tensors: not a built-in encoder's state (plugins/encoders/torchenc)", netPrefix, headPrefix)
	}
	e := &encoder{net: net}
	if w, ok := head.Tensors["linear1.weight"]; ok && len(w.Shape) == 2 {
		e.headHidden, e.headIn = w.Shape[0], w.Shape[1]
	}
	if w, ok := head.Tensors["linear2.weight"]; ok && len(w.Shape) == 2 {
		e.headOut = w.Shape[0]
	}
	for _, w := range []struct {
		name string
		f    *safetensors.File
	}{{netFile, net}, {headFile, head}} {
		if err := safetensors.WriteFile(filepath.Join(dir, w.name), w.f); err != nil {
			return nil, err
		}
	}
	return e, nil
}
