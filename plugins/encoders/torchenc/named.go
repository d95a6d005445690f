package torchenc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/convirt/convirt/plugins/models/torchrt"
	"github.com/convirt/convirt/plugins/models/torchx"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// LocalNet is a Net that also returns local features (named outputs such
// as sdk.OutputSpatial or sdk.OutputTokens) beside its pooled features, in
// one pass, so that a loss can align regions or tokens (sdk.LossNeeds).
type LocalNet interface {
	Net
	// LocalNames lists the local outputs the network serves.
	LocalNames() []string
	// Local returns the pooled features and the local outputs names asks
	// for (each one of LocalNames).
	Local(b *sdk.Batch, train bool, dev gotch.Device, names []string) (*ts.Tensor, map[string]*ts.Tensor, error)
}

// namedOut is one Graph ForwardNamed's outputs, kept for BackwardNamed.
type namedOut map[string]*ts.Tensor

func (n namedOut) drop() {
	for _, y := range n {
		y.MustDrop()
	}
}

// dropNamed drops the pending named outputs (on the encoder's thread).
func (e *Encoder) dropNamed() {
	for _, n := range e.named {
		n.drop()
	}
	e.named = nil
}

// ForwardNamed implements sdk.NamedEncoder: the pooled outputs
// (sdk.OutputProjection, sdk.OutputFeatures) and, of a LocalNet, its local
// ones, from one forward pass, in fp32.
func (e *Encoder) ForwardNamed(_ context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	if req.Batch == nil {
		return nil, errors.New("forward: no batch")
	}
	var local []string
	for _, name := range req.Outputs {
		if name != sdk.OutputProjection && name != sdk.OutputFeatures {
			local = append(local, name)
		}
	}
	if err := e.checkNames(local); err != nil {
		return nil, err
	}
	out := map[string]*tensor.Tensor{}
	err := e.do(func() error {
		prev, err := torchrt.SetGradEnabled(req.Graph)
		if err != nil {
			return err
		}
		defer torchrt.SetGradEnabled(prev) //nolint:errcheck
		ys, err := e.forwardNamed(req.Batch, req.Train, req.Outputs, local)
		if err != nil {
			return err
		}
		var s torchx.Scope
		defer s.Free()
		for name, y := range ys {
			if out[name], err = s.ToCore(y, tensor.Float32); err != nil {
				ys.drop()
				return fmt.Errorf("output %q: %w", name, err)
			}
		}
		if err := e.gatherNamed(out); err != nil { // replicas over several hosts (replicas.go)
			ys.drop()
			return err
		}
		if req.Graph {
			e.named = append(e.named, ys)
		} else {
			ys.drop()
		}
		return nil
	})
	return out, err
}

// checkNames refuses a local output the network does not serve, naming
// those it does.
func (e *Encoder) checkNames(local []string) error {
	if len(local) == 0 {
		return nil
	}
	ln, ok := e.net.(LocalNet)
	if !ok {
		return fmt.Errorf("outputs %v: this encoder serves only %q and %q", local, sdk.OutputProjection, sdk.OutputFeatures)
	}
	have := ln.LocalNames()
	for _, name := range local {
		if !slices.Contains(have, name) {
			return fmt.Errorf("output %q: this encoder serves %q, %q and %v", name, sdk.OutputProjection, sdk.OutputFeatures, have)
		}
	}
	return nil
}

// forwardNamed is ForwardNamed's pass on the encoder's thread, seeded and
// under autocast as forward is (autocastPass).
func (e *Encoder) forwardNamed(b *sdk.Batch, train bool, outputs, local []string) (namedOut, error) {
	var ys namedOut
	err := e.autocastPass(train, func() (err error) {
		ys, err = e.projectNamed(b, train, outputs, local)
		return err
	})
	if err != nil {
		return nil, err
	}
	for name, y := range ys {
		if y.DType() == gotch.Float {
			continue
		}
		if ys[name], err = y.Totype(gotch.Float, true); err != nil {
			ys.drop()
			return nil, err
		}
	}
	return ys, nil
}

// projectNamed runs the network (its local pass when local outputs are
// asked for) and the head.
func (e *Encoder) projectNamed(b *sdk.Batch, train bool, outputs, local []string) (namedOut, error) {
	ys := namedOut{}
	var feats *ts.Tensor
	var err error
	if len(local) > 0 {
		var maps map[string]*ts.Tensor
		feats, maps, err = e.net.(LocalNet).Local(b, train, e.dev, local)
		for k, v := range maps {
			ys[k] = v
		}
	} else {
		feats, err = e.net.Features(b, train, e.dev)
	}
	if err != nil {
		ys.drop()
		return nil, err
	}
	if slices.Contains(outputs, sdk.OutputProjection) {
		y, err := e.head.Forward(feats)
		if err != nil {
			feats.MustDrop()
			ys.drop()
			return nil, err
		}
		ys[sdk.OutputProjection] = y
	}
	if slices.Contains(outputs, sdk.OutputFeatures) {
		ys[sdk.OutputFeatures] = feats
	} else {
		feats.MustDrop()
	}
	return ys, nil
}

// BackwardNamed implements sdk.NamedEncoder: it back-propagates the
// gradients through the oldest pending Graph ForwardNamed, all outputs in
// one backward pass.
func (e *Encoder) BackwardNamed(_ context.Context, grads map[string]*tensor.Tensor) error {
	return e.do(func() error {
		ys, ok := oldest(&e.named)
		if !ok {
			return errors.New("backward: no named forward with graph is pending")
		}
		defer ys.drop()
		names := slices.Sorted(maps.Keys(grads)) // a fixed summation order
		var s torchx.Scope
		defer s.Free()
		var total *ts.Tensor
		for _, name := range names {
			y, g := ys[name], grads[name]
			if y == nil {
				return fmt.Errorf("backward: gradient for %q, which the forward did not output", name)
			}
			g, err := e.ownGradient(name, g, y.MustSize())
			if err != nil {
				return err
			}
			if got, want := fmt.Sprint(g.Shape), fmt.Sprint(y.MustSize()); got != want {
				return fmt.Errorf("backward: gradient of %q has shape %s, output shape %s", name, got, want)
			}
			if !y.MustRequiresGrad() {
				if name == sdk.OutputTokenMask {
					return fmt.Errorf("backward: %q carries no gradient", name)
				}
				continue // a frozen part: nothing to train
			}
			part, err := e.applying(&s, y, g)
			if err != nil {
				return err
			}
			if total == nil {
				total = part
			} else if total, err = s.Keep(total.Add(part, false)); err != nil {
				return err
			}
		}
		if total == nil {
			return nil
		}
		return e.backward(&s, total)
	})
}

// ForwardNamed implements sdk.NamedEncoder.
func (p *Plugin) ForwardNamed(ctx context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	if p.enc == nil {
		return nil, errNotConfigured
	}
	return p.enc.ForwardNamed(ctx, req)
}

// BackwardNamed implements sdk.NamedEncoder.
func (p *Plugin) BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error {
	if p.enc == nil {
		return errNotConfigured
	}
	return p.enc.BackwardNamed(ctx, grads)
}
