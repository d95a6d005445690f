package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rpcError turns an implementation's error into a gRPC status.
func rpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrCollective):
		return status.Error(codes.Aborted, err.Error())
	}
	var apart *ApartError
	if errors.As(err, &apart) {
		return apartStatus(apart.Step, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unknown, err.Error())
}

// badRequest reports a request the plugin could not decode.
func badRequest(what string, err error) error {
	return status.Errorf(codes.InvalidArgument, "%s: %v", what, err)
}

// reply encodes an implementation's result as its reply through a fresh
// outbox: encode converts it; when that fails, the segments it made are
// removed and the error, after what was encoded ("" when encode names the
// field itself), is an Internal status.
func reply[M any](wire WireOptions, what string, encode func(out *outbox) (M, error)) (M, error) {
	out := &outbox{opts: wire}
	m, err := encode(out)
	if err != nil {
		out.done()
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		var zero M
		return zero, status.Error(codes.Internal, err.Error())
	}
	return m, nil
}

// baseServer serves the Plugin service for any kind.
type baseServer struct {
	pb.UnimplementedPluginServer
	kind Kind
	impl Plugin
	wire WireOptions

	closeOnce sync.Once
	closeErr  error
}

func (s *baseServer) Info(ctx context.Context, _ *pb.Empty) (*pb.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, rpcError(err)
	}
	sc, err := json.Marshal(info.Schema)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding config schema: %v", err)
	}
	return &pb.InfoResponse{
		Name: info.Name, Kind: string(s.kind), Version: info.Version,
		ProtocolVersion: ProtocolVersion, SchemaJson: sc, Description: info.Description,
		Needs: needsToWire(info.Needs),
	}, nil
}

func (s *baseServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.Empty, error) {
	cfg := map[string]any{}
	if len(req.ConfigJson) > 0 {
		if err := json.Unmarshal(req.ConfigJson, &cfg); err != nil {
			return nil, badRequest("config", err)
		}
	}
	return &pb.Empty{}, rpcError(s.impl.Configure(ctx, cfg))
}

func (s *baseServer) State(ctx context.Context, _ *pb.Empty) (*pb.Blob, error) {
	st, ok := s.impl.(Stateful)
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "a %s plugin has no state", s.kind)
	}
	b, err := st.State(ctx)
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "state", func(out *outbox) (*pb.Blob, error) { return out.blob(b) })
}

func (s *baseServer) SetState(ctx context.Context, req *pb.Blob) (*pb.Empty, error) {
	st, ok := s.impl.(Stateful)
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "a %s plugin has no state", s.kind)
	}
	b, err := fromBlob(req)
	if err != nil {
		return nil, badRequest("state", err)
	}
	return &pb.Empty{}, rpcError(st.SetState(ctx, b))
}

func (s *baseServer) Close(context.Context, *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, rpcError(s.close())
}

// close closes the implementation once.
func (s *baseServer) close() error {
	s.closeOnce.Do(func() { s.closeErr = s.impl.Close() })
	return s.closeErr
}

// encoderServer serves the Encoder service.
type encoderServer struct {
	pb.UnimplementedEncoderServer
	impl Encoder
	wire WireOptions
}

func (s *encoderServer) Forward(ctx context.Context, req *pb.ForwardRequest) (*pb.TensorMessage, error) {
	b, err := fromBatch(req.Batch)
	if err != nil {
		return nil, badRequest("batch", err)
	}
	if len(req.Outputs) > 0 {
		return s.forwardNamed(ctx, req, b)
	}
	t, err := s.impl.Forward(ctx, ForwardRequest{Batch: b, Train: req.Train, Graph: req.Graph, Output: req.Output})
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "forward output", func(out *outbox) (*pb.TensorMessage, error) {
		m, err := out.tensor(t)
		return &pb.TensorMessage{Tensor: m}, err
	})
}

func (s *encoderServer) Backward(ctx context.Context, req *pb.TensorMessage) (*pb.Empty, error) {
	if len(req.Named) > 0 {
		return s.backwardNamed(ctx, req)
	}
	g, err := fromTensor(req.Tensor)
	if err != nil {
		return nil, badRequest("gradient", err)
	}
	return &pb.Empty{}, rpcError(s.impl.Backward(ctx, g))
}

func (s *encoderServer) Step(ctx context.Context, req *pb.StepRequest) (*pb.StepResponse, error) {
	if err := s.impl.Step(ctx, StepRequest{ValLoss: req.ValLoss}); err != nil {
		return nil, rpcError(err)
	}
	resp := &pb.StepResponse{}
	if r, ok := s.impl.(LearningRater); ok {
		if lr, ok := r.LearningRate(); ok {
			resp.Lr = &lr
		}
	}
	return resp, nil
}

// lossServer serves the Loss service.
type lossServer struct {
	pb.UnimplementedLossServer
	impl Loss
	wire WireOptions
}

func (s *lossServer) Compute(ctx context.Context, req *pb.ComputeRequest) (*pb.ComputeResponse, error) {
	if len(req.Image) > 0 || len(req.Text) > 0 || len(req.Texts) > 0 {
		return s.computeLocal(ctx, req)
	}
	var err error
	v, u := convert(&err, "v", req.V, fromTensor), convert(&err, "u", req.U, fromTensor)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r, err := s.impl.Compute(ctx, v, u)
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "", func(out *outbox) (*pb.ComputeResponse, error) {
		var err error
		gv, gu := convert(&err, "grad v", r.GradV, out.tensor), convert(&err, "grad u", r.GradU, out.tensor)
		return &pb.ComputeResponse{Loss: r.Loss, GradV: gv, GradU: gu, Metrics: r.Metrics, Chance: r.Chance}, err
	})
}

func (s *lossServer) Step(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, rpcError(s.impl.Step(ctx))
}

// datasetServer serves the Dataset service.
type datasetServer struct {
	pb.UnimplementedDatasetServer
	impl Dataset
	wire WireOptions
}

func (s *datasetServer) Splits(ctx context.Context, _ *pb.Empty) (*pb.SplitsResponse, error) {
	sp, err := s.impl.Splits(ctx)
	return &pb.SplitsResponse{Splits: sp}, rpcError(err)
}

func (s *datasetServer) Describe(ctx context.Context, req *pb.DescribeRequest) (*pb.SplitInfo, error) {
	si, err := s.impl.Describe(ctx, req.Split)
	if err != nil {
		return nil, rpcError(err)
	}
	return &pb.SplitInfo{Name: si.Name, Len: int64(si.Len), LabelNames: si.LabelNames, Task: si.Task}, nil
}

func (s *datasetServer) Batch(ctx context.Context, req *pb.BatchRequest) (*pb.Batch, error) {
	idx := make([]int, len(req.Indices))
	for i, v := range req.Indices {
		idx[i] = int(v)
	}
	b, err := s.impl.Batch(ctx, BatchRequest{Split: req.Split, Indices: idx, Augment: req.Augment, Seed: req.Seed, Epoch: int(req.Epoch)})
	if err != nil {
		return nil, rpcError(err)
	}
	if b == nil {
		return nil, status.Error(codes.Internal, "dataset returned a nil batch")
	}
	return reply(s.wire, "", func(out *outbox) (*pb.Batch, error) { return out.batch(b) })
}

// evaluatorServer serves the Evaluator service.
type evaluatorServer struct {
	pb.UnimplementedEvaluatorServer
	impl Evaluator
	wire WireOptions
}

func (s *evaluatorServer) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	r, err := evalRequestFromWire(req)
	if err != nil {
		return nil, badRequest("evaluate request", err)
	}
	res, err := s.impl.Evaluate(ctx, r)
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "evaluate result", func(out *outbox) (*pb.EvaluateResponse, error) { return evalResultToWire(out, res) })
}

func (s *evaluatorServer) Grad(ctx context.Context, req *pb.GradRequest) (*pb.GradResponse, error) {
	var err error
	f, l := convert(&err, "features", req.Features, fromTensor), convert(&err, "labels", req.Labels, fromTensor)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	loss, g, err := s.impl.Grad(ctx, f, l)
	if err != nil {
		return nil, rpcError(err)
	}
	return reply(s.wire, "grad", func(out *outbox) (*pb.GradResponse, error) {
		gm, err := out.tensor(g)
		return &pb.GradResponse{Loss: loss, Grad: gm}, err
	})
}

// errNoImpl is returned by Serve when ServeConfig names no implementation.
var errNoImpl = fmt.Errorf("sdk: ServeConfig needs exactly one of Encoder, Loss, Dataset, Evaluator")
