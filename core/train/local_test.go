package train

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// namedLin serves a linEnc's output as the named output "projection".
type namedLin struct{ *linEnc }

func (e namedLin) ForwardNamed(ctx context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	if len(req.Outputs) != 1 || req.Outputs[0] != sdk.OutputProjection {
		return nil, fmt.Errorf("outputs %v: want [projection]", req.Outputs)
	}
	y, err := e.Forward(ctx, req)
	return map[string]*tensor.Tensor{sdk.OutputProjection: y}, err
}

func (e namedLin) BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error {
	return e.Backward(ctx, grads[sdk.OutputProjection])
}

// localSq is sqLoss declared through needs: it gets both projections as
// named outputs (and the texts, which it counts) and answers named
// gradients.
type localSq struct {
	sqLoss
	needs *sdk.LossNeeds
	texts int
}

func (l *localSq) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "local-sq", Needs: l.needs}, nil
}

func (l *localSq) Compute(context.Context, *tensor.Tensor, *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, fmt.Errorf("Compute called on a loss with needs")
}

func (l *localSq) ComputeLocal(ctx context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	l.texts += len(in.Texts)
	res, err := l.sqLoss.Compute(ctx, in.Image[sdk.OutputProjection], in.Text[sdk.OutputProjection])
	res.ImageGrads = map[string]*tensor.Tensor{sdk.OutputProjection: res.GradV}
	res.TextGrads = map[string]*tensor.Tensor{sdk.OutputProjection: res.GradU}
	res.GradV, res.GradU = nil, nil
	return res, err
}

func projectionNeeds() *sdk.LossNeeds {
	return &sdk.LossNeeds{Image: []string{sdk.OutputProjection}, Text: []string{sdk.OutputProjection}, Texts: true}
}

// TestLocalStepEqualsPlainStep: a loss that declares needs trains through
// named outputs and named gradients, validation included; when it needs
// the projections only, the weights end bit-equal to the plain step's,
// and it got the batch's texts it asked for.
func TestLocalStepEqualsPlainStep(t *testing.T) {
	ctx := context.Background()
	cfg := Config{BatchSize: 8, Epochs: 3, Seed: 3, ValSplit: "val"}
	ref, refImg, refTxt := newParts()
	want, err := Run(ctx, cfg, ref)
	if err != nil {
		t.Fatal(err)
	}
	p, img, txt := newParts()
	loss := &localSq{needs: projectionNeeds()}
	p.Image, p.Text, p.Loss = namedLin{img}, namedLin{txt}, loss
	got, err := Run(ctx, cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastLoss != want.LastLoss || got.BestValLoss != want.BestValLoss {
		t.Fatalf("local step: loss %v, val %v; plain: %v, %v", got.LastLoss, got.BestValLoss, want.LastLoss, want.BestValLoss)
	}
	for i := range img.W {
		if img.W[i] != refImg.W[i] || txt.W[i] != refTxt.W[i] {
			t.Fatalf("weights differ at %d", i)
		}
	}
	if want := (15 + 3*5) * 8; loss.texts != want { // 15 steps and 3 validations of 5 batches, of 8
		t.Errorf("the loss got %d texts, want %d", loss.texts, want)
	}
}

// TestLocalStepRefusals: a loss that declares needs is refused, before any
// step, with GradCache, and with an encoder that serves no named outputs.
func TestLocalStepRefusals(t *testing.T) {
	ctx := context.Background()
	p, img, txt := newParts()
	p.Image, p.Text, p.Loss = namedLin{img}, namedLin{txt}, &localSq{needs: projectionNeeds()}
	_, err := Run(ctx, Config{BatchSize: 8, Epochs: 1, GradCacheChunk: 4}, p)
	if err == nil || !strings.Contains(err.Error(), "grad_cache") || !strings.Contains(err.Error(), "local-sq") {
		t.Errorf("GradCache with a local loss: %v", err)
	}
	p.Text = txt // serves Forward only
	_, err = Run(ctx, Config{BatchSize: 8, Epochs: 1}, p)
	if err == nil || !strings.Contains(err.Error(), "text encoder") {
		t.Errorf("a text encoder without named outputs: %v", err)
	}
	if img.steps != 0 || txt.steps != 0 {
		t.Errorf("refused runs stepped: %d, %d", img.steps, txt.steps)
	}
}

// imageOnlyLoss needs the image's projection and the texts, no text
// encoder: its loss is the squared distance of the projection to the
// texts' numbers (the captioning losses' shape of needs).
type imageOnlyLoss struct{ sqLoss }

func (l *imageOnlyLoss) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "image-only", Needs: &sdk.LossNeeds{Image: []string{sdk.OutputProjection}, Texts: true}}, nil
}

func (l *imageOnlyLoss) Compute(context.Context, *tensor.Tensor, *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, fmt.Errorf("Compute called on a loss with needs")
}

func (l *imageOnlyLoss) ComputeLocal(ctx context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	v := in.Image[sdk.OutputProjection]
	target := make([]float32, tensor.Numel(v.Shape))
	for i, s := range in.Texts {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return sdk.LossResult{}, err
		}
		for j := range dOut {
			target[i*dOut+j] = float32(x)
		}
	}
	u, _ := tensor.FromFloat32(v.Shape, target)
	res, err := l.sqLoss.Compute(ctx, v, u)
	res.ImageGrads = map[string]*tensor.Tensor{sdk.OutputProjection: res.GradV}
	res.GradV, res.GradU = nil, nil
	return res, err
}

// TestLocalStepWithoutTextEncoder: a loss that needs no text output trains
// with no text encoder at all, checkpoints without one and resumes to the
// uninterrupted run's weights; a loss of v and u without a text encoder is
// refused before any step.
func TestLocalStepWithoutTextEncoder(t *testing.T) {
	ctx := context.Background()
	parts := func() (Parts, *linEnc) {
		p, img, _ := newParts()
		p.Image, p.Text, p.Loss = namedLin{img}, nil, &imageOnlyLoss{}
		return p, img
	}
	ref, refImg := parts()
	res, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 9, Seed: 2, ValSplit: "val"}, ref)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 9 || refImg.steps != 9 {
		t.Fatalf("ran %d steps, image encoder stepped %d times", res.Steps, refImg.steps)
	}
	dir := t.TempDir()
	p1, _ := parts()
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 4, Seed: 2, ValSplit: "val", CheckpointDir: dir, CheckpointEvery: 2}, p1); err != nil {
		t.Fatal(err)
	}
	p2, img := parts()
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 9, Seed: 2, ValSplit: "val", CheckpointDir: dir, Resume: true}, p2); err != nil {
		t.Fatal(err)
	}
	for i := range img.W {
		if img.W[i] != refImg.W[i] {
			t.Fatalf("resumed weights differ at %d", i)
		}
	}
	plain, _, _ := newParts()
	plain.Text = nil
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 2}, plain); err == nil || !strings.Contains(err.Error(), "no text encoder") {
		t.Errorf("a v-and-u loss without a text encoder: %v", err)
	}
}
