package experiment

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Test plugins for the text encoder's presence: a loss that reads the image
// encoder's features and the raw texts only (as a captioning loss does),
// and a one-split paired dataset. They are started as processes (the test
// binary serves them), so the launcher records what a run started.
const (
	testImageOnlyLoss = "test-image-only-loss"
	testPooledLoss    = "test-pooled-loss"
	testTextEncoder   = "test-text-encoder"
	testPairs         = "test-pairs"
)

func init() {
	builtin.RegisterLoss(testImageOnlyLoss, func() sdk.Loss { return &imageOnlyLoss{} })
	builtin.RegisterLoss(testPooledLoss, func() sdk.Loss { return &pooledLoss{} })
	builtin.RegisterEncoder(testTextEncoder, func() sdk.Encoder { return &textEncoder{} })
	builtin.RegisterDataset(testPairs, func() sdk.Dataset { return pairsData{} })
}

// textEncoder is plateauEncoder under its own name.
type textEncoder struct{ plateauEncoder }

func (e *textEncoder) Info(ctx context.Context) (sdk.Info, error) {
	info, err := e.plateauEncoder.Info(ctx)
	info.Name = testTextEncoder
	return info, err
}

// imageOnlyLoss declares, once configured (as a lossplugin loss does: its
// needs follow its config), needs without text outputs. Only its Info is
// exercised here: startPretrain decides from it which encoders to start.
type imageOnlyLoss struct{ configured bool }

func (l *imageOnlyLoss) Info(context.Context) (sdk.Info, error) {
	info := sdk.Info{Name: testImageOnlyLoss, Version: "0.0.1"}
	if l.configured {
		info.Needs = &sdk.LossNeeds{Image: []string{sdk.OutputFeatures}, Texts: true}
	}
	return info, nil
}
func (l *imageOnlyLoss) Configure(context.Context, map[string]any) error {
	l.configured = true
	return nil
}
func (*imageOnlyLoss) Close() error                          { return nil }
func (*imageOnlyLoss) Step(context.Context) error            { return nil }
func (*imageOnlyLoss) State(context.Context) ([]byte, error) { return nil, nil }
func (*imageOnlyLoss) SetState(context.Context, []byte) error {
	return nil
}
func (*imageOnlyLoss) Compute(context.Context, *tensor.Tensor, *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, errors.New("imageOnlyLoss takes named outputs (ComputeLocal)")
}
func (*imageOnlyLoss) ComputeLocal(context.Context, sdk.LocalInputs) (sdk.LossResult, error) {
	return sdk.LossResult{}, errors.New("imageOnlyLoss does not train: startPretrain only reads its needs")
}

// pooledLoss takes the pooled embeddings (no needs), as ConVIRT's does.
type pooledLoss struct{ imageOnlyLoss }

func (*pooledLoss) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testPooledLoss, Version: "0.0.1"}, nil
}

// pairsData is a paired dataset of one split, "train", of 4 pairs.
type pairsData struct{}

func (pairsData) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testPairs, Version: "0.0.1"}, nil
}
func (pairsData) Configure(context.Context, map[string]any) error { return nil }
func (pairsData) Close() error                                    { return nil }
func (pairsData) Splits(context.Context) ([]string, error)        { return []string{"train"}, nil }
func (pairsData) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: 4, Task: sdk.TaskPaired}, nil
}
func (pairsData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	n := int64(len(req.Indices))
	img, err := tensor.FromFloat32([]int64{n, 1, 1, 1}, make([]float32, n))
	b := &sdk.Batch{Images: img}
	for range req.Indices {
		b.Texts = append(b.Texts, "no finding")
	}
	return b, err
}

// pretrainSession is a session over the recipe text, whose plugins the
// test binary serves, logging to a file in the test's folder.
func pretrainSession(t *testing.T, text string) (*session, func() string) {
	t.Helper()
	r, err := recipe.Parse("r.yaml", []byte(text), recipe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	s := &session{r: r, opt: Options{Launcher: testLauncher()}, log: logf}
	return s, func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
}

// started lists the plugins the session's launcher started.
func started(s *session) []string {
	var names []string
	for _, st := range s.opt.Launcher.Started() {
		names = append(names, st.Name)
	}
	return names
}

const pretrainNoText = `name: p
image_encoder: {plugin: test-plateau-encoder}
data:
  pretrain: {plugin: test-pairs}
`

// TestCaptionLossStartsNoTextEncoder: a loss that needs no text output
// trains without a text_encoder section, and one the recipe names anyway is
// not started (its untrained state would pass for a pretrained one).
func TestCaptionLossStartsNoTextEncoder(t *testing.T) {
	for name, text := range map[string]string{
		"without": pretrainNoText + "loss: {plugin: test-image-only-loss}\n",
		"with":    pretrainNoText + "loss: {plugin: test-image-only-loss}\ntext_encoder: {plugin: test-text-encoder}\n",
	} {
		s, log := pretrainSession(t, text)
		p, err := s.startPretrain(context.Background(), 0)
		if p != nil {
			p.close()
		}
		if err != nil {
			t.Fatalf("%s text_encoder: %v", name, err)
		}
		if p.text != nil || p.image == nil {
			t.Errorf("%s text_encoder: image %v, text %v; want an image encoder only", name, p.image, p.text)
		}
		if got := started(s); slices.Contains(got, testTextEncoder) || !slices.Contains(got, "test-plateau-encoder") {
			t.Errorf("%s text_encoder: started %v", name, got)
		}
		if note := `text_encoder (plugin "test-text-encoder") not started: loss "test-image-only-loss" needs none of its outputs`; (name == "with") != strings.Contains(log(), note) {
			t.Errorf("%s text_encoder: log %q, note %q expected only with one", name, log(), note)
		}
	}
}

// TestTextLossNeedsTextEncoder: a loss of the pooled embeddings without a
// text_encoder is refused when the run starts it, naming the recipe and the
// key, before any encoder starts.
func TestTextLossNeedsTextEncoder(t *testing.T) {
	s, _ := pretrainSession(t, pretrainNoText+"loss: {plugin: test-pooled-loss}\n")
	p, err := s.startPretrain(context.Background(), 0)
	if p != nil {
		p.close()
	}
	want := `recipe r.yaml: text_encoder: missing: loss "test-pooled-loss" takes the pooled image and text embeddings`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if got := started(s); slices.Contains(got, "test-plateau-encoder") {
		t.Errorf("started %v before refusing", got)
	}
}

// TestNoPretrainedTextEncoder: an evaluation that needs the text encoder of
// a run pretrained without one (a captioning loss) is refused saying why.
func TestNoPretrainedTextEncoder(t *testing.T) {
	er := &evalRun{saved: map[string][]byte{"image": []byte("{}")}}
	if _, err := er.convirtState("image"); err != nil {
		t.Fatalf("image: %v", err)
	}
	_, err := er.convirtState("text")
	if err == nil || !strings.Contains(err.Error(), "the pretrained state has no text encoder (its loss trained the image encoder alone") {
		t.Errorf("text: %v", err)
	}
}
