package caption

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Small shapes: 2 images, a 3-channel 2x2 map, a 12-token vocabulary.
const nB, nC, nH, nW = 2, 3, 2, 2

var reports = []string{"left pleural effusion.", "no acute disease."}

func smallConfig(t *testing.T) Config {
	t.Helper()
	vocab := filepath.Join(t.TempDir(), "vocab.txt")
	words := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\nleft\npleural\neffusion\nno\nacute\ndisease\n"
	if err := os.WriteFile(vocab, []byte(words), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Vocab, c.MaxLen, c.ImageDim, c.EmbedDim, c.Hidden, c.AttnDim, c.Layers, c.Heads, c.FFN = vocab, 16, nC, 4, 6, 5, 2, 2, 8
	c.Seed, c.LR = 1, 0.01
	return c
}

var builders = map[string]func(Config) (*Loss, error){LSTMName: NewLSTM, TransformerName: NewTransformer}

func inputs(t *testing.T, img []float64, dt tensor.DType) sdk.LocalInputs {
	t.Helper()
	x, err := tensor.FromFloat64s(dt, []int64{nB, nC, nH, nW}, img)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.LocalInputs{Image: map[string]*tensor.Tensor{sdk.OutputSpatial: x}, Texts: reports}
}

func randImg(seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float64, nB*nC*nH*nW)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// TestGradientFiniteDifferences: each decoder's gradient for the image's
// map agrees with central differences of the loss (in float64), and the
// loss is the cross-entropy of 5 and 5 target tokens ([SEP] included).
func TestGradientFiniteDifferences(t *testing.T) {
	for name, build := range builders {
		l, err := build(smallConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		img := randImg(2)
		res, err := l.ComputeLocal(inputs(t, img, tensor.Float64))
		if err != nil {
			t.Fatal(err)
		}
		// Chance over 12 tokens is ln 12 ~ 2.48; an untrained decoder is near it.
		if res.Metrics[MetricTokens] != 10 || math.Abs(res.Loss-math.Log(12)) > 1 {
			t.Errorf("%s: loss %v over %v tokens, want near ln 12 over 10", name, res.Loss, res.Metrics[MetricTokens])
		}
		g, err := res.ImageGrads[sdk.OutputSpatial].Float64s()
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-6
		nonzero := false
		for i := range img {
			old := img[i]
			img[i] = old + h
			rp, err := l.ComputeLocal(inputs(t, img, tensor.Float64))
			if err != nil {
				t.Fatal(err)
			}
			img[i] = old - h
			rm, _ := l.ComputeLocal(inputs(t, img, tensor.Float64))
			img[i] = old
			fd := (rp.Loss - rm.Loss) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: map[%d]: grad %.9g, finite difference %.9g", name, i, g[i], fd)
			}
			nonzero = nonzero || g[i] != 0
		}
		if !nonzero {
			t.Errorf("%s: the map's gradient is all zero", name)
		}
	}
}

// TestDecoderTrainsAndRestores: steps on the decoder's own parameters
// lower the loss on a fixed batch (float32, as in a run); State taken
// before them restores the first loss exactly.
func TestDecoderTrainsAndRestores(t *testing.T) {
	for name, build := range builders {
		c := smallConfig(t)
		c.LR = 0.05
		l, err := build(c)
		if err != nil {
			t.Fatal(err)
		}
		in := inputs(t, randImg(3), tensor.Float32)
		st, err := l.State()
		if err != nil {
			t.Fatal(err)
		}
		first, err := l.ComputeLocal(in)
		if err != nil {
			t.Fatal(err)
		}
		last := first
		for range 20 {
			if err := l.Step(); err != nil {
				t.Fatal(err)
			}
			if last, err = l.ComputeLocal(in); err != nil {
				t.Fatal(err)
			}
		}
		if !(last.Loss < first.Loss-0.5) {
			t.Errorf("%s: 20 decoder steps took the loss from %v to %v only", name, first.Loss, last.Loss)
		}
		trained, _ := l.State()
		if err := l.SetState(st); err != nil {
			t.Fatal(err)
		}
		again, _ := l.ComputeLocal(in)
		if again.Loss != first.Loss || bytes.Equal(st, trained) {
			t.Errorf("%s: restored loss %v, want %v", name, again.Loss, first.Loss)
		}
	}
}

// TestRefusals: a missing vocabulary, a map of the wrong size and reports
// that do not match the images are refused with what is wrong.
func TestRefusals(t *testing.T) {
	c := smallConfig(t)
	c.Vocab = ""
	if _, err := NewLSTM(c); err == nil || !strings.Contains(err.Error(), "vocab") {
		t.Errorf("no vocab: %v", err)
	}
	c = smallConfig(t)
	c.Heads = 4
	if _, err := NewTransformer(c); err == nil || !strings.Contains(err.Error(), "heads") {
		t.Errorf("hidden 6 over 4 heads: %v", err)
	}
	l, err := NewLSTM(smallConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	in := inputs(t, randImg(4), tensor.Float32)
	in.Texts = in.Texts[:1]
	if _, err := l.ComputeLocal(in); err == nil || !strings.Contains(err.Error(), "1 reports for 2 images") {
		t.Errorf("texts mismatch: %v", err)
	}
	c = smallConfig(t)
	c.ImageDim = 5
	l, _ = NewLSTM(c)
	if _, err := l.ComputeLocal(inputs(t, randImg(4), tensor.Float32)); err == nil || !strings.Contains(err.Error(), "image_dim") {
		t.Errorf("wrong image_dim: %v", err)
	}
}
