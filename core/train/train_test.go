package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// The loop's logic is tested here with small pure-Go parts: linear encoders
// with SGD and a squared-distance loss. The step through real plugin
// processes and libtorch models is tested in plugins/encoders.

const dIn, dOut = 3, 2

type linEnc struct {
	mu        sync.Mutex
	text      bool
	W, G      []float64 // dOut x dIn
	lastX     [][]float64
	lr        float64
	steps     int
	valLosses []float64
}

func newLinEnc(text bool, seed float64) *linEnc {
	e := &linEnc{text: text, lr: 0.1, W: make([]float64, dOut*dIn), G: make([]float64, dOut*dIn)}
	for i := range e.W {
		e.W[i] = math.Sin(seed + float64(i))
	}
	return e
}

func (e *linEnc) inputs(b *sdk.Batch) ([][]float64, error) {
	var xs [][]float64
	if e.text {
		for _, t := range b.Texts {
			v, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return nil, err
			}
			xs = append(xs, []float64{v, v * v, 1})
		}
		return xs, nil
	}
	f, err := b.Images.Float32s()
	if err != nil {
		return nil, err
	}
	for i := 0; i < int(b.Images.Shape[0]); i++ {
		x := make([]float64, dIn)
		for j := range x {
			x[j] = float64(f[i*dIn+j])
		}
		xs = append(xs, x)
	}
	return xs, nil
}

func (e *linEnc) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	xs, err := e.inputs(req.Batch)
	if err != nil {
		return nil, err
	}
	out := make([]float32, 0, len(xs)*dOut)
	for _, x := range xs {
		for o := 0; o < dOut; o++ {
			s := 0.0
			for i := 0; i < dIn; i++ {
				s += e.W[o*dIn+i] * x[i]
			}
			out = append(out, float32(s))
		}
	}
	if req.Graph {
		e.lastX = xs
	}
	return tensor.FromFloat32([]int64{int64(len(xs)), dOut}, out)
}

func (e *linEnc) Backward(_ context.Context, g *tensor.Tensor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	gs, err := g.Float32s()
	if err != nil {
		return err
	}
	if e.lastX == nil {
		return errors.New("backward without a graph forward")
	}
	for n, x := range e.lastX {
		for o := 0; o < dOut; o++ {
			for i := 0; i < dIn; i++ {
				e.G[o*dIn+i] += float64(gs[n*dOut+o]) * x[i]
			}
		}
	}
	e.lastX = nil
	return nil
}

func (e *linEnc) Step(_ context.Context, req sdk.StepRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if req.ValLoss != nil {
		e.valLosses = append(e.valLosses, *req.ValLoss)
	}
	for i := range e.W {
		e.W[i] -= e.lr * e.G[i]
		e.G[i] = 0
	}
	e.steps++
	return nil
}

func (e *linEnc) State(context.Context) ([]byte, error) { return json.Marshal(e.W) }
func (e *linEnc) SetState(_ context.Context, b []byte) error {
	return json.Unmarshal(b, &e.W)
}

// sqLoss is mean_i |v_i - u_i|^2 / 2.
type sqLoss struct{ steps int }

func (l *sqLoss) Compute(_ context.Context, v, u *tensor.Tensor) (sdk.LossResult, error) {
	vs, err := v.Float32s()
	if err != nil {
		return sdk.LossResult{}, err
	}
	us, err := u.Float32s()
	if err != nil {
		return sdk.LossResult{}, err
	}
	n := float64(v.Shape[0])
	gv, gu := make([]float32, len(vs)), make([]float32, len(vs))
	loss := 0.0
	for i := range vs {
		d := float64(vs[i] - us[i])
		loss += d * d / 2 / n
		gv[i], gu[i] = float32(d/n), float32(-d/n)
	}
	tv, _ := tensor.FromFloat32(v.Shape, gv)
	tu, _ := tensor.FromFloat32(u.Shape, gu)
	return sdk.LossResult{Loss: loss, GradV: tv, GradU: tu}, nil
}
func (l *sqLoss) Step(context.Context) error            { l.steps++; return nil }
func (l *sqLoss) State(context.Context) ([]byte, error) { return []byte(strconv.Itoa(l.steps)), nil }
func (l *sqLoss) SetState(_ context.Context, b []byte) error {
	l.steps, _ = strconv.Atoi(string(b))
	return nil
}

type pairs struct{ n int }

func (d pairs) Describe(_ context.Context, split string) (sdk.SplitInfo, error) {
	return sdk.SplitInfo{Name: split, Len: d.n, Task: sdk.TaskPaired}, nil
}

func (d pairs) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{}
	var img []float32
	for _, i := range req.Indices {
		x := float64(i)/float64(d.n) - 0.5
		if req.Split == "val" {
			x += 0.01
		}
		b.IDs = append(b.IDs, strconv.Itoa(i))
		b.Texts = append(b.Texts, strconv.FormatFloat(x, 'g', -1, 64))
		img = append(img, float32(x), float32(2*x), float32(-x))
	}
	var err error
	b.Images, err = tensor.FromFloat32([]int64{int64(len(req.Indices)), 1, 1, dIn}, img)
	return b, err
}

func newParts() (Parts, *linEnc, *linEnc) {
	img, txt := newLinEnc(false, 1), newLinEnc(true, 2)
	return Parts{Image: img, Text: txt, Loss: &sqLoss{}, Data: pairs{n: 40}}, img, txt
}

func TestRunReducesLossAndValidates(t *testing.T) {
	p, img, _ := newParts()
	res, err := Run(context.Background(), Config{BatchSize: 8, Epochs: 5, Seed: 1, ValSplit: "val"}, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 25 || res.Epochs != 5 || res.StopReason != "epochs" {
		t.Fatalf("result %+v: want 25 steps over 5 epochs", res)
	}
	if len(img.valLosses) != 4 {
		t.Errorf("plateau schedule saw %d validation losses, want 4 (one per epoch but the last)", len(img.valLosses))
	}
	if !(res.BestValLoss < img.valLosses[0]+1e-12) || math.IsNaN(res.BestValLoss) {
		t.Errorf("best val %v vs first %v", res.BestValLoss, img.valLosses[0])
	}
}

// TestResumeEqualsUninterrupted resumes from a checkpoint in the middle of
// an epoch (and, with length bucketing, of a window) and checks that the
// weights end bit-equal to an uninterrupted run's.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, buckets := range []int{0, 3} {
		t.Run(fmt.Sprintf("length_buckets=%d", buckets), func(t *testing.T) {
			ctx := context.Background()
			ref, refImg, refTxt := newParts()
			if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 13, Seed: 7, LengthBuckets: buckets}, ref); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			p1, _, _ := newParts()
			if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 7, Seed: 7, CheckpointDir: dir, CheckpointEvery: 3, LengthBuckets: buckets}, p1); err != nil {
				t.Fatal(err)
			}
			p2, img, txt := newParts() // fresh processes: state comes from the checkpoint
			res, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 13, Seed: 7, CheckpointDir: dir, Resume: true, LengthBuckets: buckets}, p2)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 13 {
				t.Fatalf("resumed run ended at step %d, want 13", res.Steps)
			}
			for i := range refImg.W {
				if refImg.W[i] != img.W[i] || refTxt.W[i] != txt.W[i] {
					t.Fatalf("resumed weights differ at %d: %v/%v vs %v/%v", i, img.W[i], txt.W[i], refImg.W[i], refTxt.W[i])
				}
			}
			if img.steps != 6 {
				t.Errorf("resumed run took %d steps, want 6", img.steps)
			}
		})
	}
}

func TestGradCacheEqualsPlainStep(t *testing.T) {
	ctx := context.Background()
	a, aImg, aTxt := newParts()
	b, bImg, bTxt := newParts()
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 6, Seed: 3}, a); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Config{BatchSize: 8, MaxSteps: 6, Seed: 3, GradCacheChunk: 3}, b); err != nil {
		t.Fatal(err)
	}
	for i := range aImg.W {
		if math.Abs(aImg.W[i]-bImg.W[i]) > 1e-6 || math.Abs(aTxt.W[i]-bTxt.W[i]) > 1e-6 {
			t.Fatalf("grad cache weights differ at %d: %v vs %v", i, bImg.W[i], aImg.W[i])
		}
	}
}

func TestEarlyStopping(t *testing.T) {
	p, img, _ := newParts()
	img.lr, p.Text.(*linEnc).lr = 0, 0 // nothing improves
	res, err := Run(context.Background(), Config{BatchSize: 8, Epochs: 50, Seed: 1, ValSplit: "val", EarlyStopPatience: 2}, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != "early_stopping" || res.Epochs != 3 {
		t.Fatalf("got %+v, want early stopping after epoch 3", res)
	}
}

func TestCorruptCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	p, _, _ := newParts()
	if _, err := Run(context.Background(), Config{BatchSize: 8, MaxSteps: 4, Seed: 1, CheckpointDir: dir, CheckpointEvery: 2}, p); err != nil {
		t.Fatal(err)
	}
	newest := filepath.Join(dir, ckName(4))
	data, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newest, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadLatest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.State.Step != 2 {
		t.Fatalf("fell back to step %d, want 2", ck.State.Step)
	}
	if len(ck.Skipped) != 1 || !strings.Contains(ck.Skipped[0], newest) {
		t.Fatalf("Skipped = %v, want the corrupt %s", ck.Skipped, newest)
	}
	if _, err := DecodeCheckpoint(data[:len(data)-1]); err == nil {
		t.Fatal("a truncated checkpoint must not decode")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	p, _, _ := newParts()
	for _, c := range []Config{{BatchSize: 0, MaxSteps: 1}, {BatchSize: 8}, {BatchSize: 100, MaxSteps: 1}} {
		if _, err := Run(context.Background(), c, p); err == nil {
			t.Errorf("config %+v: want an error", c)
		}
	}
}
