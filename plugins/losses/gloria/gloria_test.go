package gloria

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/losses/convirt"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Small shapes: 3 pairs, a 4-channel 2x2 map, 4 tokens of 5 dimensions,
// 3-dimensional projections.
const (
	nB, nC, nH, nW, nT, nD, nP = 3, 4, 2, 2, 4, 5, 3
)

func smallConfig() Config {
	c := DefaultConfig()
	c.ImageDim, c.TextDim, c.ImageOutput, c.Seed, c.LR = nC, nD, sdk.OutputSpatial, 1, 0.01
	return c
}

func mustNew(t *testing.T, c Config) *Loss {
	t.Helper()
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func randVals(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// batch holds the float64 values of one input set.
type batch struct{ v, u, img, tok, mask []float64 }

func newBatch(r *rand.Rand) *batch {
	return &batch{v: randVals(r, nB*nP), u: randVals(r, nB*nP), img: randVals(r, nB*nC*nH*nW), tok: randVals(r, nB*nT*nD),
		// [CLS] + 3 words, [CLS] + 2 words + padding, [CLS] + 1 word + padding.
		mask: []float64{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0}}
}

func (b *batch) inputs(t *testing.T) sdk.LocalInputs {
	t.Helper()
	mk := func(shape []int64, v []float64) *tensor.Tensor {
		x, err := tensor.FromFloat64s(tensor.Float64, shape, v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	mask, err := tensor.FromFloat64s(tensor.Float32, []int64{nB, nT}, b.mask)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.LocalInputs{
		Image: map[string]*tensor.Tensor{sdk.OutputProjection: mk([]int64{nB, nP}, b.v), sdk.OutputSpatial: mk([]int64{nB, nC, nH, nW}, b.img)},
		Text:  map[string]*tensor.Tensor{sdk.OutputProjection: mk([]int64{nB, nP}, b.u), sdk.OutputTokens: mk([]int64{nB, nT, nD}, b.tok), sdk.OutputTokenMask: mask},
	}
}

func f64(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGradientFiniteDifferences: the gradients for both projections, the
// image's map and the token states agree with central differences of the
// loss, for both aggregations; padded tokens and [CLS] get none.
func TestGradientFiniteDifferences(t *testing.T) {
	for _, agg := range []string{"sum", "mean"} {
		c := smallConfig()
		c.Agg, c.GlobalWeight, c.LocalWeight = agg, 0.7, 1.3
		l := mustNew(t, c)
		b := newBatch(rand.New(rand.NewPCG(1, 2)))
		res, err := l.ComputeLocal(b.inputs(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.Metrics[MetricLocal] <= 0 || res.Metrics[MetricGlobal] <= 0 {
			t.Fatalf("metrics %v", res.Metrics)
		}
		lossAt := func() float64 {
			r, err := l.ComputeLocal(b.inputs(t))
			if err != nil {
				t.Fatal(err)
			}
			return r.Loss
		}
		const h = 1e-6
		for _, c := range []struct {
			name string
			x    []float64
			g    *tensor.Tensor
		}{
			{"v", b.v, res.ImageGrads[sdk.OutputProjection]}, {"u", b.u, res.TextGrads[sdk.OutputProjection]},
			{"map", b.img, res.ImageGrads[sdk.OutputSpatial]}, {"tokens", b.tok, res.TextGrads[sdk.OutputTokens]},
		} {
			if c.g == nil {
				t.Fatalf("%s: no gradient", c.name)
			}
			g := f64(t, c.g)
			for i := range c.x {
				old := c.x[i]
				c.x[i] = old + h
				lp := lossAt()
				c.x[i] = old - h
				lm := lossAt()
				c.x[i] = old
				fd := (lp - lm) / (2 * h)
				if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("agg %s, %s[%d]: grad %.9g, finite difference %.9g", agg, c.name, i, g[i], fd)
				}
			}
		}
		g := f64(t, res.TextGrads[sdk.OutputTokens])
		for i := range nB {
			for j := range nT {
				if b.mask[i*nT+j] == 1 && j > 0 {
					continue
				}
				for d := range nD {
					if x := g[(i*nT+j)*nD+d]; x != 0 {
						t.Fatalf("agg %s: token %d of text %d (padding or [CLS]) has gradient %v", agg, j, i, x)
					}
				}
			}
		}
	}
}

// TestGlobalPartIsConVIRTs: with the local loss weighted 0, GLoRIA is
// twice ConVIRT's loss at tau = 1/temp3 and lambda 0.5 (GLoRIA sums the
// two directions where ConVIRT averages them).
func TestGlobalPartIsConVIRTs(t *testing.T) {
	c := smallConfig()
	c.LocalWeight = 0
	b := newBatch(rand.New(rand.NewPCG(5, 6)))
	in := b.inputs(t)
	res, err := mustNew(t, c).ComputeLocal(in)
	if err != nil {
		t.Fatal(err)
	}
	cv, _ := convirt.New(convirt.Config{Tau: 1 / c.Temp3, Lambda: 0.5})
	want, err := cv.Compute(in.Image[sdk.OutputProjection], in.Text[sdk.OutputProjection])
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Loss-2*want.Loss) > 1e-12 {
		t.Errorf("loss %v, want 2 x ConVIRT's %v", res.Loss, want.Loss)
	}
}

// TestStepStateAndRefusals: Step trains the projection (the loss moves),
// State restores it exactly, and bad inputs are refused by name.
func TestStepStateAndRefusals(t *testing.T) {
	b := newBatch(rand.New(rand.NewPCG(7, 8)))
	l := mustNew(t, smallConfig())
	st, err := l.State()
	if err != nil {
		t.Fatal(err)
	}
	before, err := l.ComputeLocal(b.inputs(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Step(); err != nil {
		t.Fatal(err)
	}
	after, err := l.ComputeLocal(b.inputs(t))
	if err != nil {
		t.Fatal(err)
	}
	if !(after.Metrics[MetricLocal] < before.Metrics[MetricLocal]) {
		t.Errorf("a step on the projection did not lower the local loss: %v -> %v", before.Metrics[MetricLocal], after.Metrics[MetricLocal])
	}
	stepped, _ := l.State()
	if err := l.SetState(st); err != nil {
		t.Fatal(err)
	}
	again, _ := l.ComputeLocal(b.inputs(t))
	if again.Loss != before.Loss {
		t.Errorf("restored state gives loss %v, want %v", again.Loss, before.Loss)
	}
	if bytes.Equal(st, stepped) {
		t.Error("the step left the state unchanged")
	}

	in := b.inputs(t)
	delete(in.Text, sdk.OutputTokens)
	if _, err := l.ComputeLocal(in); err == nil || !strings.Contains(err.Error(), "tokens") {
		t.Errorf("missing tokens: %v", err)
	}
	in = b.inputs(t)
	img := in.Image[sdk.OutputSpatial]
	if in.Image[sdk.OutputSpatial], err = tensor.FromFloat64s(tensor.Float32, img.Shape, b.img); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ComputeLocal(in); err == nil || !strings.Contains(err.Error(), "maps of float32 for 3 projections of float64") {
		t.Errorf("image map of another dtype: %v", err)
	}
	c := smallConfig()
	c.ImageDim = 7
	if _, err := mustNew(t, c).ComputeLocal(b.inputs(t)); err == nil || !strings.Contains(err.Error(), "image_dim") {
		t.Errorf("wrong image_dim: %v", err)
	}
	b.mask = []float64{1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0}
	if _, err := l.ComputeLocal(b.inputs(t)); err == nil || !strings.Contains(err.Error(), "text 1 has no word") {
		t.Errorf("a text of [CLS] only: %v", err)
	}
	if _, err := l.Compute(nil, nil); err == nil || !strings.Contains(err.Error(), "ComputeLocal") {
		t.Errorf("Compute: %v", err)
	}
}

// TestPluginReportsConfiguredNeeds: the plugin's Info declares GLoRIA's
// needs, conv4 by default and the configured image output once
// configured, so the host asks the encoders for the right maps.
func TestPluginReportsConfiguredNeeds(t *testing.T) {
	ctx := context.Background()
	p := Spec.Plugin()
	info, err := p.Info(ctx)
	if err != nil || info.Needs == nil || !slices.Equal(info.Needs.Image, []string{sdk.OutputProjection, sdk.OutputConv4}) ||
		!slices.Equal(info.Needs.Text, []string{sdk.OutputProjection, sdk.OutputTokens, sdk.OutputTokenMask}) {
		t.Fatalf("Info needs %+v, %v", info.Needs, err)
	}
	if err := p.Configure(ctx, map[string]any{"image_output": "spatial", "image_dim": 8, "text_dim": 4}); err != nil {
		t.Fatal(err)
	}
	if info, _ = p.Info(ctx); !slices.Equal(info.Needs.Image, []string{sdk.OutputProjection, sdk.OutputSpatial}) {
		t.Errorf("configured needs %+v", info.Needs)
	}
}
