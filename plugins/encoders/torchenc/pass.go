package torchenc

// The training pass of an Encoder: Forward (projections or features, under
// the precision's autocast), Backward of a gradient on a pending output,
// and Step (the schedule and one optimiser update, fp16's loss scale).

import (
	"context"
	"errors"
	"fmt"

	"github.com/convirt/convirt/plugins/models/autocast"
	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Forward implements sdk.Encoder.
func (e *Encoder) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	if req.Batch == nil {
		return nil, errors.New("forward: no batch")
	}
	var out *tensor.Tensor
	err := e.do(func() error {
		prev, err := torchrt.SetGradEnabled(req.Graph)
		if err != nil {
			return err
		}
		defer torchrt.SetGradEnabled(prev) //nolint:errcheck
		y, err := e.forward(req.Batch, req.Train, req.Output)
		if err != nil {
			return err
		}
		var s torchx.Scope
		defer s.Free()
		out, err = s.ToCore(y, tensor.Float32)
		if req.Graph && err == nil {
			e.out = append(e.out, y)
		} else {
			y.MustDrop()
		}
		if err == nil {
			out, err = e.gatherOutput(out) // replicas over several hosts (replicas.go)
		}
		return err
	})
	return out, err
}

// forward maps a batch to projections (or features) in fp32. It runs on
// the encoder's thread under the caller's grad mode (autocastPass).
func (e *Encoder) forward(b *sdk.Batch, train bool, output string) (*ts.Tensor, error) {
	var y *ts.Tensor
	err := e.autocastPass(train, func() (err error) {
		y, err = e.project(b, train, output)
		return err
	})
	if err != nil || y.DType() == gotch.Float {
		return y, err
	}
	return y.Totype(gotch.Float, true)
}

// autocastPass runs f, a forward pass on the encoder's thread, under
// autocast when the precision (Precision for training, EvalPrecision
// otherwise) is not fp32; a training pass is seeded first, so that its
// dropout draws depend only on (seed, step) and a resumed run draws
// exactly what an uninterrupted one would.
func (e *Encoder) autocastPass(train bool, f func() error) error {
	if train {
		torchrt.ManualSeed(e.cfg.Seed*1_000_003 + e.steps)
	}
	precision := e.cfg.EvalPrecision
	if train {
		precision = e.cfg.Precision
	}
	exit, err := autocast.Enter(e.dev, precision)
	if err != nil {
		return err
	}
	defer exit()
	return f()
}

// project is forward's network and head, in the thread's autocast state.
func (e *Encoder) project(b *sdk.Batch, train bool, output string) (*ts.Tensor, error) {
	feats, err := e.net.Features(b, train, e.dev)
	if err != nil || output == sdk.OutputFeatures {
		return feats, err
	}
	y, err := e.head.Forward(feats)
	feats.MustDrop()
	return y, err
}

// Backward implements sdk.Encoder: it back-propagates grad through the
// oldest pending Graph forward.
func (e *Encoder) Backward(_ context.Context, grad *tensor.Tensor) error {
	return e.do(func() error {
		y, ok := oldest(&e.out)
		if !ok {
			return errors.New("backward: no forward with graph is pending")
		}
		defer y.MustDrop()
		if got, want := fmt.Sprint(grad.Shape), fmt.Sprint(y.MustSize()); got != want {
			return fmt.Errorf("backward: gradient shape %s, output shape %s", got, want)
		}
		var s torchx.Scope
		defer s.Free()
		total, err := e.applying(&s, y, grad)
		if err != nil {
			return err
		}
		return e.backward(&s, total)
	})
}

// oldest takes the oldest of the pending graphs q (Graph forwards' outputs
// awaiting their backward, which takes them in order); false when none is.
func oldest[T any](q *[]T) (T, bool) {
	var t T
	if len(*q) == 0 {
		return t, false
	}
	t, *q = (*q)[0], (*q)[1:]
	return t, true
}

// applying is sum(y * g) for the gradient g of output y: d/dy of it is g,
// so back-propagating it applies g.
func (e *Encoder) applying(s *torchx.Scope, y *ts.Tensor, grad *tensor.Tensor) (*ts.Tensor, error) {
	g, err := s.FromCoreOn(grad, e.dev, false)
	if err != nil {
		return nil, err
	}
	prod, err := s.Keep(y.Mul(g, false))
	if err != nil {
		return nil, err
	}
	return s.Keep(prod.Sum(gotch.Float, false))
}

// backward back-propagates the scalar total (applying's, or a sum of
// them), scaled first under fp16 so that small gradients survive float16.
func (e *Encoder) backward(s *torchx.Scope, total *ts.Tensor) error {
	if e.scaler != nil {
		var err error
		if total, err = s.Keep(total.MulScalar(s.Scalar(e.scaler.Scale), false)); err != nil {
			return err
		}
	}
	if err := e.prepareReduce(); err != nil { // replicas: overlap the all-reduce (overlap.go)
		return err
	}
	return total.Backward()
}

// Step implements sdk.Encoder.
func (e *Encoder) Step(_ context.Context, req sdk.StepRequest) error {
	return e.do(func() error {
		for _, y := range e.out {
			y.MustDrop()
		}
		e.out = nil
		e.dropNamed()
		return e.step(req.ValLoss)
	})
}

// step applies the schedule and one optimiser update, on the encoder's
// thread. Under fp16 the gradients are unscaled first, and a step with an
// inf or NaN gradient is skipped (its gradients cleared) while the scaler
// backs off, as torch.cuda.amp.GradScaler does.
func (e *Encoder) step(valLoss *float64) error {
	if err := e.sumGrads(); err != nil {
		return err
	}
	e.sched.Apply(e.opt, valLoss)
	e.steps++
	if e.scaler != nil {
		finite, err := e.scaler.Unscale(e.vs.TrainableVariables())
		if err != nil {
			return err
		}
		e.scaler.Update(finite)
		if !finite {
			e.opt.ZeroGrad()
			return nil
		}
	}
	return e.opt.Step()
}
