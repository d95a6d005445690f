package sdktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// namedPlugins are the plugins of the named-output tests, served by
// TestMain: an encoder with named outputs, one without (as every encoder
// written before them), and a loss that declares needs.
var namedPlugins = map[string]func() error{
	"named-encoder": func() error { return sdk.Serve(sdk.ServeConfig{Encoder: &namedEncoder{}}) },
	"old-encoder":   func() error { return sdk.Serve(sdk.ServeConfig{Encoder: &oldEncoder{}}) },
	"local-loss":    func() error { return sdk.Serve(sdk.ServeConfig{Loss: &localLoss{}}) },
}

// oldEncoder serves Forward only: its "projection" is the images' row sums.
type oldEncoder struct{ grads map[string]float64 }

func (e *oldEncoder) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "old-encoder", Version: "0.0.1"}, nil
}
func (e *oldEncoder) Configure(context.Context, map[string]any) error { return nil }
func (e *oldEncoder) Close() error                                    { return nil }
func (e *oldEncoder) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	return tensor.FromFloat32([]int64{1}, []float32{1})
}
func (e *oldEncoder) Backward(context.Context, *tensor.Tensor) error { return nil }
func (e *oldEncoder) Step(context.Context, sdk.StepRequest) error    { return nil }

// State reports the sums of the named gradients the encoder received, so
// the test can see what crossed the wire.
func (e *oldEncoder) State(context.Context) ([]byte, error)  { return json.Marshal(e.grads) }
func (e *oldEncoder) SetState(context.Context, []byte) error { return nil }

// namedEncoder's outputs are functions of the images: "spatial" is the
// images times 2, "projection" their per-sample sums ([N,1]).
type namedEncoder struct{ oldEncoder }

func (e *namedEncoder) ForwardNamed(_ context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	x, err := req.Batch.Images.Float32s()
	if err != nil {
		return nil, err
	}
	n := req.Batch.Images.Shape[0]
	out := map[string]*tensor.Tensor{}
	for _, name := range req.Outputs {
		switch name {
		case sdk.OutputSpatial:
			y := make([]float32, len(x))
			for i, v := range x {
				y[i] = 2 * v
			}
			out[name], err = tensor.FromFloat32(req.Batch.Images.Shape, y)
		case sdk.OutputProjection:
			y := make([]float32, n)
			for i, v := range x {
				y[i/(len(x)/int(n))] += v
			}
			out[name], err = tensor.FromFloat32([]int64{n, 1}, y)
		default:
			return nil, fmt.Errorf("no output %q", name)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *namedEncoder) BackwardNamed(_ context.Context, grads map[string]*tensor.Tensor) error {
	e.grads = map[string]float64{}
	for name, g := range grads {
		v, err := g.Float32s()
		if err != nil {
			return err
		}
		for _, x := range v {
			e.grads[name] += float64(x)
		}
	}
	return nil
}

// localLoss declares needs; its loss is the sum of the image's spatial map
// and the text's tokens, so each gradient is all ones, and it counts the
// texts into a metric.
type localLoss struct{}

func (l *localLoss) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "local-loss", Version: "0.0.1",
		Needs: &sdk.LossNeeds{Image: []string{sdk.OutputSpatial}, Text: []string{sdk.OutputTokens, sdk.OutputTokenMask}, Texts: true}}, nil
}
func (l *localLoss) Configure(context.Context, map[string]any) error { return nil }
func (l *localLoss) Close() error                                    { return nil }
func (l *localLoss) State(context.Context) ([]byte, error)           { return []byte{}, nil }
func (l *localLoss) SetState(context.Context, []byte) error          { return nil }
func (l *localLoss) Step(context.Context) error                      { return nil }
func (l *localLoss) Compute(context.Context, *tensor.Tensor, *tensor.Tensor) (sdk.LossResult, error) {
	return sdk.LossResult{}, fmt.Errorf("local-loss: Compute called")
}

func (l *localLoss) ComputeLocal(_ context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	res := sdk.LossResult{Metrics: map[string]float64{"texts": float64(len(in.Texts))}, Chance: 0.25,
		ImageGrads: map[string]*tensor.Tensor{}, TextGrads: map[string]*tensor.Tensor{}}
	for _, side := range []struct {
		in, grads map[string]*tensor.Tensor
		name      string
	}{{in.Image, res.ImageGrads, sdk.OutputSpatial}, {in.Text, res.TextGrads, sdk.OutputTokens}} {
		t := side.in[side.name]
		if t == nil {
			return res, fmt.Errorf("no %q given", side.name)
		}
		v, err := t.Float32s()
		if err != nil {
			return res, err
		}
		ones := make([]float32, len(v))
		for i, x := range v {
			res.Loss += float64(x)
			ones[i] = 1
		}
		if side.grads[side.name], err = tensor.FromFloat32(t.Shape, ones); err != nil {
			return res, err
		}
	}
	return res, nil
}

// images is an [n,c,h,w] float32 batch of 1, 2, 3, ...
func images(t *testing.T, shape ...int64) *tensor.Tensor {
	t.Helper()
	v := make([]float32, tensor.Numel(shape))
	for i := range v {
		v[i] = float32(i%7 + 1)
	}
	x, err := tensor.FromFloat32(shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func sum(t *testing.T, x *tensor.Tensor) float64 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for _, f := range v {
		s += float64(f)
	}
	return s
}

// TestNamedOutputsCrossTheWire: an encoder's named outputs, a local map
// large enough for shared memory among them, come back by name with their
// values; their gradients go back by name; a loss's needs arrive in its
// Info, and its named inputs and gradients cross as the encoder's do. No
// shared-memory segment is left behind.
func TestNamedOutputsCrossTheWire(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(shm.EnvDir, dir)
	ctx := context.Background()
	enc := sdktest.Start(t, "named-encoder", sdk.KindEncoder).(sdk.Encoder)
	ne, ok := enc.(sdk.NamedEncoder)
	if !ok {
		t.Fatalf("the encoder client %T is no sdk.NamedEncoder", enc)
	}
	x := images(t, 4, 64, 16, 16) // 256 KiB: through shared memory
	got, err := ne.ForwardNamed(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true,
		Outputs: []string{sdk.OutputProjection, sdk.OutputSpatial}})
	if err != nil {
		t.Fatal(err)
	}
	if s := got[sdk.OutputSpatial]; s == nil || !slices.Equal(s.Shape, x.Shape) || sum(t, s) != 2*sum(t, x) {
		t.Fatalf("spatial = %v, want the images doubled", s)
	}
	if p := got[sdk.OutputProjection]; p == nil || !slices.Equal(p.Shape, []int64{4, 1}) || sum(t, p) != sum(t, x) {
		t.Fatalf("projection = %v, want the images' row sums", p)
	}

	loss := sdktest.Start(t, "local-loss", sdk.KindLoss).(sdk.Loss)
	info, err := loss.Info(ctx)
	if err != nil || info.Needs == nil || !slices.Equal(info.Needs.Image, []string{sdk.OutputSpatial}) ||
		!slices.Equal(info.Needs.Text, []string{sdk.OutputTokens, sdk.OutputTokenMask}) || !info.Needs.Texts {
		t.Fatalf("Info needs = %+v, %v", info.Needs, err)
	}
	tokens := images(t, 4, 5, 3)
	mask := images(t, 4, 5)
	res, err := loss.(sdk.LocalLoss).ComputeLocal(ctx, sdk.LocalInputs{
		Image: map[string]*tensor.Tensor{sdk.OutputSpatial: got[sdk.OutputSpatial]},
		Text:  map[string]*tensor.Tensor{sdk.OutputTokens: tokens, sdk.OutputTokenMask: mask},
		Texts: []string{"a", "b", "c", "d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*sum(t, x) + sum(t, tokens); res.Loss != want || res.Metrics["texts"] != 4 || res.Chance != 0.25 {
		t.Fatalf("loss %v metrics %v, want %v and 4 texts", res.Loss, res.Metrics, want)
	}
	gs, gt := res.ImageGrads[sdk.OutputSpatial], res.TextGrads[sdk.OutputTokens]
	if gs == nil || gt == nil || res.TextGrads[sdk.OutputTokenMask] != nil || sum(t, gs) != float64(tensor.Numel(x.Shape)) || sum(t, gt) != 60 {
		t.Fatalf("gradients %v %v", res.ImageGrads, res.TextGrads)
	}
	if err := ne.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputSpatial: gs}); err != nil {
		t.Fatal(err)
	}
	st, err := enc.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var received map[string]float64
	if err := json.Unmarshal(st, &received); err != nil || len(received) != 1 || received[sdk.OutputSpatial] != float64(tensor.Numel(x.Shape)) {
		t.Fatalf("encoder received gradients %s (%v), want spatial's ones", st, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("shared-memory segments left: %v", ents)
	}
}

// TestNamedOutputsRefusedByOldPlugins: an encoder without named outputs
// and a loss without needs refuse named requests with a message that says
// so, instead of answering something else.
func TestNamedOutputsRefusedByOldPlugins(t *testing.T) {
	ctx := context.Background()
	enc := sdktest.Start(t, "old-encoder", sdk.KindEncoder).(sdk.NamedEncoder)
	_, err := enc.ForwardNamed(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: images(t, 1, 1, 2, 2)}, Outputs: []string{sdk.OutputSpatial}})
	if err == nil || !strings.Contains(err.Error(), "serves no named outputs") {
		t.Fatalf("ForwardNamed on an old encoder: %v", err)
	}
	err = enc.BackwardNamed(ctx, map[string]*tensor.Tensor{sdk.OutputSpatial: images(t, 1, 1)})
	if err == nil || !strings.Contains(err.Error(), "serves no named outputs") {
		t.Fatalf("BackwardNamed on an old encoder: %v", err)
	}
	old := sdktest.Start(t, "counter", sdk.KindEvaluator)
	if info, err := old.Info(ctx); err != nil || info.Needs != nil {
		t.Fatalf("a plugin without needs reports %+v, %v", info.Needs, err)
	}
}
