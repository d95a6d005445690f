package sdk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file carries named outputs across the wire: an encoder's
// ForwardNamed and BackwardNamed, a loss's needs and ComputeLocal, on both
// sides (client for the host, server for the plugin). Named tensors travel
// as the others do, inline or through shared memory by size.

func needsToWire(n *LossNeeds) *pb.LossNeeds {
	if n == nil {
		return nil
	}
	return &pb.LossNeeds{Image: n.Image, Text: n.Text, Texts: n.Texts}
}

func needsFromWire(m *pb.LossNeeds) *LossNeeds {
	if m == nil {
		return nil
	}
	return &LossNeeds{Image: m.Image, Text: m.Text, Texts: m.Texts}
}

// named converts a map of tensors (nil entries are left out), in name
// order so that segments are created deterministically.
func (o *outbox) named(ts map[string]*tensor.Tensor) (map[string]*pb.Tensor, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	out := make(map[string]*pb.Tensor, len(ts))
	for _, k := range slices.Sorted(maps.Keys(ts)) {
		if ts[k] == nil {
			continue
		}
		m, err := o.tensor(ts[k])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		out[k] = m
	}
	return out, nil
}

// fromNamed decodes a map of wire tensors. Every segment is read (and so
// removed) even when one fails.
func fromNamed(ms map[string]*pb.Tensor) (map[string]*tensor.Tensor, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out := make(map[string]*tensor.Tensor, len(ms))
	var errs []error
	for k, m := range ms {
		t, err := fromTensor(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", k, err))
			continue
		}
		out[k] = t
	}
	return out, errors.Join(errs...)
}

// ForwardNamed implements NamedEncoder across the process boundary.
func (c *encoderClient) ForwardNamed(ctx context.Context, req ForwardRequest) (map[string]*tensor.Tensor, error) {
	if len(req.Outputs) == 0 {
		return nil, fmt.Errorf("plugin %q: ForwardNamed: no outputs named", c.name)
	}
	out := &outbox{opts: c.wire}
	defer out.done()
	b, err := out.batch(req.Batch)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: ForwardNamed: %w", c.name, err)
	}
	r, err := c.e.Forward(ctx, &pb.ForwardRequest{Batch: b, Train: req.Train, Graph: req.Graph, Output: req.Output, Outputs: req.Outputs})
	if err != nil {
		return nil, c.fail("Forward", err)
	}
	got, err := fromNamed(r.Named)
	if err == nil && r.Tensor != nil {
		_, _ = fromTensor(r.Tensor) // remove its segment
		err = errors.New("the plugin answered with one unnamed tensor: it serves no named outputs (it predates them)")
	}
	if err == nil {
		for _, name := range req.Outputs {
			if got[name] == nil {
				err = fmt.Errorf("output %q missing from the answer", name)
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("plugin %q: Forward %v: %w", c.name, req.Outputs, err)
	}
	return got, nil
}

// BackwardNamed implements NamedEncoder across the process boundary.
func (c *encoderClient) BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error {
	out := &outbox{opts: c.wire}
	defer out.done()
	named, err := out.named(grads)
	if err != nil {
		return fmt.Errorf("plugin %q: Backward: gradient %w", c.name, err)
	}
	if len(named) == 0 {
		return fmt.Errorf("plugin %q: Backward: no named gradient", c.name)
	}
	_, err = c.e.Backward(ctx, &pb.TensorMessage{Named: named})
	return c.fail("Backward", err)
}

// ComputeLocal implements LocalLoss across the process boundary.
func (c *lossClient) ComputeLocal(ctx context.Context, in LocalInputs) (LossResult, error) {
	out := &outbox{opts: c.wire}
	defer out.done()
	var err error
	img, txt := convert(&err, "image output", in.Image, out.named), convert(&err, "text output", in.Text, out.named)
	if err != nil {
		return LossResult{}, fmt.Errorf("plugin %q: Compute: %w", c.name, err)
	}
	if len(img) == 0 && len(txt) == 0 && len(in.Texts) == 0 {
		return LossResult{}, fmt.Errorf("plugin %q: Compute: no named output and no texts to send", c.name)
	}
	r, err := c.l.Compute(ctx, &pb.ComputeRequest{Image: img, Text: txt, Texts: in.Texts})
	if err != nil {
		return LossResult{}, c.fail("Compute", err)
	}
	res := LossResult{Loss: r.Loss, Metrics: r.Metrics, Chance: r.Chance}
	var errs []error
	if res.ImageGrads, err = fromNamed(r.ImageGrads); err != nil {
		errs = append(errs, fmt.Errorf("image gradient %w", err))
	}
	if res.TextGrads, err = fromNamed(r.TextGrads); err != nil {
		errs = append(errs, fmt.Errorf("text gradient %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("plugin %q: Compute: %w", c.name, err)
	}
	return res, nil
}

func (s *encoderServer) forwardNamed(ctx context.Context, req *pb.ForwardRequest, b *Batch) (*pb.TensorMessage, error) {
	ne, ok := s.impl.(NamedEncoder)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "outputs %v: this encoder serves no named outputs", req.Outputs)
	}
	got, err := ne.ForwardNamed(ctx, ForwardRequest{Batch: b, Train: req.Train, Graph: req.Graph, Output: req.Output, Outputs: req.Outputs})
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "forward output", func(out *outbox) (*pb.TensorMessage, error) {
		m, err := out.named(got)
		return &pb.TensorMessage{Named: m}, err
	})
}

func (s *encoderServer) backwardNamed(ctx context.Context, req *pb.TensorMessage) (*pb.Empty, error) {
	grads, err := fromNamed(req.Named)
	if err != nil {
		return nil, badRequest("gradient", err)
	}
	ne, ok := s.impl.(NamedEncoder)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "named gradients: this encoder serves no named outputs")
	}
	return &pb.Empty{}, rpcError(ne.BackwardNamed(ctx, grads))
}

func (s *lossServer) computeLocal(ctx context.Context, req *pb.ComputeRequest) (*pb.ComputeResponse, error) {
	var err error
	img, txt := convert(&err, "image output", req.Image, fromNamed), convert(&err, "text output", req.Text, fromNamed)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ll, ok := s.impl.(LocalLoss)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "named outputs: this loss takes only v and u (it declares no needs)")
	}
	r, err := ll.ComputeLocal(ctx, LocalInputs{Image: img, Text: txt, Texts: req.Texts})
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "", func(out *outbox) (*pb.ComputeResponse, error) {
		var err error
		gi, gt := convert(&err, "image gradient", r.ImageGrads, out.named), convert(&err, "text gradient", r.TextGrads, out.named)
		return &pb.ComputeResponse{Loss: r.Loss, Metrics: r.Metrics, ImageGrads: gi, TextGrads: gt, Chance: r.Chance}, err
	})
}
