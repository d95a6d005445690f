package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

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

func (l *sqLoss) Step(context.Context) error { l.steps++; return nil }

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
