package export

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/core/runs"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/models/wordpiece"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// pytorchScript is PyTorch's side of the interop tests, shared with
// plugins/models/weights.
const pytorchScript = "../../../../plugins/models/weights/testdata/pytorch.py"

var texts = []string{"No acute cardiopulmonary process.", "Left pleural effusion, heart enlarged."}

// fixture is a run directory whose checkpoint holds a ResNet-18 and a tiny
// BERT (random initialisation, seeded) with projection heads, and the
// configured encoders themselves.
type fixture struct {
	run, vocab  string
	img, txt    *torchenc.Plugin
	imageConfig map[string]any
	textConfig  map[string]any
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	vocab := filepath.Join(dir, "vocab.txt")
	b := wordpiece.NewVocabBuilder(wordpiece.Options{Lowercase: true})
	for _, s := range texts {
		b.Add(s)
	}
	if err := os.WriteFile(vocab, []byte(strings.Join(b.Tokens(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fixture{vocab: vocab,
		imageConfig: map[string]any{"arch": "resnet18", "in_channels": 3, "proj_hidden": 16, "proj_dim": 8, "seed": 1, "threads": 1},
		textConfig: map[string]any{"size": "tiny", "vocab": vocab, "heads": 4, "layers": 2, "pooling": "max", "max_len": 16,
			"proj_hidden": 16, "proj_dim": 8, "seed": 2, "threads": 1, "freeze_layers": 0}}
	f.img, f.txt = image.New(image.ResNet), text.New()
	t.Cleanup(func() { f.img.Close(); f.txt.Close() })
	if err := f.img.Configure(ctx, f.imageConfig); err != nil {
		t.Fatal(err)
	}
	if err := f.txt.Configure(ctx, f.textConfig); err != nil {
		t.Fatal(err)
	}
	y, err := yamlOf(map[string]any{"name": "export-test", "experiment": "export",
		"image_encoder": map[string]any{"plugin": image.ResNet, "config": f.imageConfig},
		"text_encoder":  map[string]any{"plugin": text.Name, "config": f.textConfig},
		"loss":          map[string]any{"plugin": "convirt", "config": map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "recipe.yaml")
	if err := os.WriteFile(src, y, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := recipe.Load(src, recipe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := runs.Create(filepath.Join(dir, "runs"), "export", runs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Finish(runs.Finished) })
	f.run = run.Dir()
	if err := r.Save(f.run); err != nil {
		t.Fatal(err)
	}
	ck := &train.Checkpoint{Parts: map[string][]byte{"loss": {}}}
	for name, p := range map[string]*torchenc.Plugin{"image": f.img, "text": f.txt} {
		if ck.Parts[name], err = p.State(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := train.Save(filepath.Join(f.run, runs.CheckpointsDir), ck); err != nil {
		t.Fatal(err)
	}
	return f
}

// yamlOf writes v as JSON, which is YAML.
func yamlOf(v any) ([]byte, error) { return json.Marshal(v) }

func pytorch(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{pytorchScript}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pytorch.py %s (needs Debian's python3-torch and python3-torchvision: make setup): %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeRaw(t *testing.T, path string, v any, shape []int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(f, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(shape)
	if err := os.WriteFile(strings.TrimSuffix(path, ".bin")+".json", js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, PyTorch %d", what, len(got), len(want))
	}
	worst, scale := 0.0, 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if !(d <= tol) {
			t.Fatalf("%s: value %d is %g in convirt, %g in PyTorch (tolerance %g)", what, i, got[i], want[i], tol)
		}
		worst, scale = max(worst, d), max(scale, math.Abs(float64(want[i])))
	}
	t.Logf("%s: %d values up to %.3g, largest difference from PyTorch %.2g", what, len(got), scale, worst)
}

func project(t *testing.T, p *torchenc.Plugin, b *sdk.Batch) []float32 {
	t.Helper()
	y, err := p.Forward(context.Background(), sdk.ForwardRequest{Batch: b, Output: sdk.OutputProjection})
	if err != nil {
		t.Fatal(err)
	}
	v, err := y.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestExportLoadsIntoPyTorch exports a run's encoders and loads them into
// torchvision's ResNet-18 and a PyTorch BERT (plain torch, Hugging Face's
// BertModel computation and names: transformers is not packaged in
// Debian 12) with the projection heads: PyTorch's projections of the same
// images and token ids equal convirt's to 1e-4.
func TestExportLoadsIntoPyTorch(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "exported")
	res, err := Export(f.run, Best, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint.Used != Last || !strings.Contains(res.Checkpoint.Note, "no validation data") {
		t.Errorf("a run without validation: used %s (note %q), want last with a note", res.Checkpoint.Used, res.Checkpoint.Note)
	}
	for _, name := range []string{ImageFile, ImageHeadFile, TextHeadFile, ReadmeFile, "text/config.json", "text/vocab.txt", "text/model.safetensors", "text/tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	rd, err := os.ReadFile(filepath.Join(out, ReadmeFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"export-test", "torchvision.models.resnet18()", "step 0", "BertModel.from_pretrained", filepath.Base(res.Checkpoint.Path)} {
		if !strings.Contains(string(rd), want) {
			t.Errorf("README.md lacks %q:\n%s", want, rd)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, 2*3*32*32)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	shape := []int64{2, 3, 32, 32}
	img, err := tensor.FromFloat32(shape, px)
	if err != nil {
		t.Fatal(err)
	}
	writeRaw(t, filepath.Join(out, "x.bin"), px, shape)
	pytorch(t, "resnet-check", out, "resnet18")
	closeTo(t, "image projections", project(t, f.img, &sdk.Batch{IDs: []string{"a", "b"}, Images: img}), readFloats(t, filepath.Join(out, "got.bin")), 1e-4)

	tok, err := wordpiece.Load(filepath.Join(out, "text", "vocab.txt"), wordpiece.Options{Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tok.Encode(texts, 16)
	if err != nil {
		t.Fatal(err)
	}
	tshape := []int64{int64(enc.N), int64(enc.L)}
	writeRaw(t, filepath.Join(out, "ids.bin"), enc.IDs, tshape)
	writeRaw(t, filepath.Join(out, "mask.bin"), enc.Mask, tshape)
	pytorch(t, "bert-check", out, "max")
	closeTo(t, "text projections", project(t, f.txt, &sdk.Batch{IDs: []string{"a", "b"}, Texts: texts}), readFloats(t, filepath.Join(out, "got.bin")), 1e-4)
}

// TestExportErrors: a checkpoint that is not there, a bad --checkpoint and
// an --out that holds files are errors that say so, and leave no output.
func TestExportErrors(t *testing.T) {
	f := newFixture(t)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	for _, c := range []struct{ sel, out, want string }{
		{"step-7", filepath.Join(t.TempDir(), "a"), "step-7"},
		{"newest", filepath.Join(t.TempDir(), "b"), "want best, last or step-N"},
		{Last, full, "not empty"},
	} {
		_, err := Export(f.run, c.sel, c.out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--checkpoint %s --out %s: %v, want an error containing %q", c.sel, c.out, err, c.want)
		}
		if c.out != full {
			if _, err := os.Stat(c.out); !os.IsNotExist(err) {
				t.Errorf("%s was written on error", c.out)
			}
		}
	}
	if _, err := Export(t.TempDir(), Best, filepath.Join(t.TempDir(), "c")); err == nil || !strings.Contains(err.Error(), "not a run directory") {
		t.Errorf("a directory without checkpoints: %v", err)
	}
}
