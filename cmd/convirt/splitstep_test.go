package main

// The split step of the host (core/train) with the built-in encoders and
// loss in their own processes, against the same steps in one process. The
// test lives here, where the host and the plugins meet, since neither may
// import the other.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/encoders/image"
	"github.com/convirt/convirt/plugins/encoders/text"
	"github.com/convirt/convirt/plugins/encoders/torchenc"
	"github.com/convirt/convirt/plugins/losses/infonce"
	"github.com/convirt/convirt/plugins/models/safetensors"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

var words = strings.Fields("no acute cardiopulmonary process mild cardiomegaly small left right pleural effusion consolidation lung base pneumothorax nodule")

func writeVocab(t *testing.T) string {
	t.Helper()
	lines := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."}, words...)
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pairs is a small in-memory paired dataset with 32x32 grayscale images.
type pairs struct{ n int }

func (d pairs) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: d.n, Task: sdk.TaskPaired}, nil
}

func (d pairs) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{}
	var px []float32
	for _, i := range req.Indices {
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for range 32 * 32 {
			px = append(px, float32(r.NormFloat64()))
		}
		var sent []string
		for range 3 + r.IntN(5) {
			sent = append(sent, words[r.IntN(len(words))])
		}
		b.IDs = append(b.IDs, fmt.Sprint(i))
		b.Texts = append(b.Texts, strings.Join(sent, " ")+".")
	}
	var err error
	b.Images, err = tensor.FromFloat32([]int64{int64(len(req.Indices)), 1, 32, 32}, px)
	return b, err
}

func configs(vocab string) (map[string]any, map[string]any) {
	// SGD, not Adam: a conv bias before batch norm has a true gradient of
	// zero, and Adam would scale its float rounding noise up to a full step.
	common := map[string]any{"optimizer": "sgd", "lr": 0.05, "schedule": "none", "proj_dim": 8, "proj_hidden": 16, "weight_decay": 1e-6}
	img := map[string]any{"in_channels": 1, "seed": 3}
	txt := map[string]any{"vocab": vocab, "size": "tiny", "layers": 2, "hidden": 32, "heads": 2, "freeze_layers": 1, "max_len": 16, "seed": 5}
	for k, v := range common {
		img[k], txt[k] = v, v
	}
	return img, txt
}

func modelTensors(t *testing.T, state []byte) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Parse(state)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for name, x := range f.Tensors {
		if !strings.HasPrefix(name, "model/") || x.DType != "F32" {
			continue
		}
		v, err := (&tensor.Tensor{DType: tensor.Float32, Shape: x.Shape, Data: x.Data}).Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = v
	}
	return out
}

// TestSplitStepEqualsOneProcess runs k ConVIRT steps with the image encoder,
// the text encoder and the loss in three plugin processes, and the same k
// steps in one process and one autograd graph, and compares every parameter.
func TestSplitStepEqualsOneProcess(t *testing.T) {
	const k, batch = 3, 8
	ctx := context.Background()
	vocab := writeVocab(t)
	imgCfg, txtCfg := configs(vocab)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(name string, kind sdk.Kind) host.Client {
		c, err := host.Start(ctx, host.Spec{Name: name, Kind: kind, BuiltIn: true, Exe: exe, Args: serveArgs(name)})
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	img := start("smallcnn", sdk.KindEncoder).(*host.Encoder)
	txt := start("bert", sdk.KindEncoder).(*host.Encoder)
	loss := start("convirt", sdk.KindLoss).(*host.Loss)
	for _, c := range []struct {
		p   sdk.Plugin
		cfg map[string]any
	}{{img, imgCfg}, {txt, txtCfg}, {loss, map[string]any{"tau": 0.1, "lambda": 0.75}}} {
		if err := c.p.Configure(ctx, c.cfg); err != nil {
			t.Fatal(err)
		}
	}
	data := pairs{n: 32}
	res, err := train.Run(ctx, train.Config{BatchSize: batch, MaxSteps: k, Seed: 11, Prefetch: 1}, train.Parts{Image: img, Text: txt, Loss: loss, Data: data})
	if err != nil {
		t.Fatal(err)
	}

	refImg, refTxt := image.New(image.SmallCNN), text.New()
	defer refImg.Close()
	defer refTxt.Close()
	if err := refImg.Configure(ctx, imgCfg); err != nil {
		t.Fatal(err)
	}
	if err := refTxt.Configure(ctx, txtCfg); err != nil {
		t.Fatal(err)
	}
	var last float64
	for step := range k {
		order := train.EpochOrder(data.n, 11, 0)
		b, _ := data.Batch(ctx, sdk.BatchRequest{Indices: order[step*batch : (step+1)*batch]})
		if last, err = torchenc.ReferenceStep(refImg.Encoder(), refTxt.Encoder(), b, infonce.ConVIRT(0.1, 0.75)); err != nil {
			t.Fatal(err)
		}
	}
	if math.Abs(last-res.LastLoss) > 1e-4*math.Max(1, math.Abs(last)) {
		t.Errorf("last loss: split %v, one process %v", res.LastLoss, last)
	}
	for _, pair := range []struct {
		name       string
		split, ref sdk.Encoder
	}{{"image", img, refImg}, {"text", txt, refTxt}} {
		sb, err := pair.split.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := pair.ref.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, want := modelTensors(t, sb), modelTensors(t, rb)
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("%s: %d tensors split, %d reference", pair.name, len(got), len(want))
		}
		changed := 0
		for name, w := range want {
			g := got[name]
			for i := range w {
				if d := math.Abs(float64(g[i] - w[i])); d > 2e-5+1e-4*math.Abs(float64(w[i])) {
					t.Fatalf("%s %s[%d]: split %v, one process %v", pair.name, name, i, g[i], w[i])
				}
			}
			changed++
		}
		t.Logf("%s: %d tensors equal after %d steps", pair.name, changed, k)
	}
}
