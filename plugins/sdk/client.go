package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/convirt/convirt/plugins/sdk/internal/pb"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// closeTimeout bounds a plugin's Close.
const closeTimeout = 10 * time.Second

// baseClient calls the Plugin service of the plugin called name.
type baseClient struct {
	name string
	wire WireOptions
	c    pb.PluginClient
}

// fail turns an RPC error into one that names the plugin and the method and
// keeps what the plugin said, without gRPC's framing; nil stays nil, so a
// call whose answer is empty ends in return b.fail(method, err).
func (b *baseClient) fail(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("plugin %q: %s: %w", b.name, method, err)
	}
	switch st.Code() {
	case codes.ResourceExhausted:
		return fmt.Errorf("plugin %q: %s: %w (%s); tensors of at least the shared-memory threshold (%d bytes) travel outside gRPC",
			b.name, method, ErrMessageTooLarge, st.Message(), b.wire.ShmThreshold)
	case codes.Unknown:
		return fmt.Errorf("plugin %q: %s: %s", b.name, method, st.Message())
	case codes.Canceled:
		return fmt.Errorf("plugin %q: %s: %w", b.name, method, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("plugin %q: %s: %w", b.name, method, context.DeadlineExceeded)
	case codes.Aborted:
		return fmt.Errorf("plugin %q: %s: %w", b.name, method, remoteError{st.Message(), ErrCollective})
	case codes.FailedPrecondition:
		if step, ok := apartStep(st); ok {
			return fmt.Errorf("plugin %q: %s: %w", b.name, method, &ApartError{Step: step, Msg: st.Message()})
		}
	}
	return fmt.Errorf("plugin %q: %s: %s: %s", b.name, method, st.Code(), st.Message())
}

// decoded is a call's answer m (a field of the reply, nil when the call
// failed) decoded with dec; errors name the plugin and the method: the
// call's as fail has it, the decoding's with what was decoded ("" for the
// whole reply).
func decoded[M, T any](b *baseClient, method string, err error, what string, m M, dec func(M) (T, error)) (T, error) {
	var t T
	if err != nil {
		return t, b.fail(method, err)
	}
	if what != "" {
		method += ": " + what
	}
	v, err := dec(m)
	if err != nil {
		return t, fmt.Errorf("plugin %q: %s: %w", b.name, method, err)
	}
	return v, nil
}

// Info implements Plugin.
func (b *baseClient) Info(ctx context.Context) (Info, error) {
	r, err := b.c.Info(ctx, &pb.Empty{})
	if err != nil {
		return Info{}, b.fail("Info", err)
	}
	info := Info{Name: r.Name, Kind: Kind(r.Kind), Version: r.Version, ProtocolVersion: int(r.ProtocolVersion), Description: r.Description,
		Needs: needsFromWire(r.Needs)}
	if len(r.SchemaJson) > 0 {
		var s schema.Schema
		if err := json.Unmarshal(r.SchemaJson, &s); err != nil {
			return info, fmt.Errorf("plugin %q: Info: config schema: %w", b.name, err)
		}
		info.Schema = s
	}
	return info, nil
}

// Configure implements Plugin.
func (b *baseClient) Configure(ctx context.Context, cfg map[string]any) error {
	j, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("plugin %q: Configure: encoding config: %w", b.name, err)
	}
	_, err = b.c.Configure(ctx, &pb.ConfigureRequest{ConfigJson: j})
	return b.fail("Configure", err)
}

// State implements Stateful.
func (b *baseClient) State(ctx context.Context) ([]byte, error) {
	r, err := b.c.State(ctx, &pb.Empty{})
	return decoded(b, "State", err, "", r, fromBlob)
}

// SetState implements Stateful.
func (b *baseClient) SetState(ctx context.Context, state []byte) error {
	out := &outbox{opts: b.wire}
	defer out.done()
	m, err := out.blob(state)
	if err != nil {
		return fmt.Errorf("plugin %q: SetState: %w", b.name, err)
	}
	_, err = b.c.SetState(ctx, m)
	return b.fail("SetState", err)
}

// Close asks the plugin to release its resources; it does not stop the
// process (core/host does).
func (b *baseClient) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_, err := b.c.Close(ctx, &pb.Empty{})
	return b.fail("Close", err)
}

// encoderClient is an Encoder across the process boundary.
type encoderClient struct {
	baseClient
	e  pb.EncoderClient
	lr atomic.Pointer[float64] // reported by the last Step
}

func (c *encoderClient) Forward(ctx context.Context, req ForwardRequest) (*tensor.Tensor, error) {
	out := &outbox{opts: c.wire}
	defer out.done()
	b, err := out.batch(req.Batch)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: Forward: %w", c.name, err)
	}
	r, err := c.e.Forward(ctx, &pb.ForwardRequest{Batch: b, Train: req.Train, Graph: req.Graph, Output: req.Output})
	return decoded(&c.baseClient, "Forward", err, "output", r.GetTensor(), fromTensor)
}

func (c *encoderClient) Backward(ctx context.Context, grad *tensor.Tensor) error {
	out := &outbox{opts: c.wire}
	defer out.done()
	g, err := out.tensor(grad)
	if err != nil {
		return fmt.Errorf("plugin %q: Backward: gradient: %w", c.name, err)
	}
	_, err = c.e.Backward(ctx, &pb.TensorMessage{Tensor: g})
	return c.fail("Backward", err)
}

func (c *encoderClient) Step(ctx context.Context, req StepRequest) error {
	resp, err := c.e.Step(ctx, &pb.StepRequest{ValLoss: req.ValLoss})
	if err != nil {
		return c.fail("Step", err)
	}
	c.lr.Store(resp.Lr) // nil when the plugin reports none
	return nil
}

// LearningRate implements LearningRater: the rate the plugin reported with
// its last Step, if it did.
func (c *encoderClient) LearningRate() (float64, bool) {
	if lr := c.lr.Load(); lr != nil {
		return *lr, true
	}
	return 0, false
}

// lossClient is a Loss across the process boundary.
type lossClient struct {
	baseClient
	l pb.LossClient
}

func (c *lossClient) Compute(ctx context.Context, v, u *tensor.Tensor) (LossResult, error) {
	out := &outbox{opts: c.wire}
	defer out.done()
	var err error
	vm, um := convert(&err, "v", v, out.tensor), convert(&err, "u", u, out.tensor)
	if err != nil {
		return LossResult{}, fmt.Errorf("plugin %q: Compute: %w", c.name, err)
	}
	r, err := c.l.Compute(ctx, &pb.ComputeRequest{V: vm, U: um})
	if err != nil {
		return LossResult{}, c.fail("Compute", err)
	}
	res := LossResult{Loss: r.Loss, Metrics: r.Metrics, Chance: r.Chance}
	res.GradV, res.GradU = convert(&err, "grad v", r.GradV, fromTensor), convert(&err, "grad u", r.GradU, fromTensor)
	if err != nil {
		return res, fmt.Errorf("plugin %q: Compute: %w", c.name, err)
	}
	return res, nil
}

func (c *lossClient) Step(ctx context.Context) error {
	_, err := c.l.Step(ctx, &pb.Empty{})
	return c.fail("Step", err)
}

// datasetClient is a Dataset across the process boundary.
type datasetClient struct {
	baseClient
	d pb.DatasetClient
}

func (c *datasetClient) Splits(ctx context.Context) ([]string, error) {
	r, err := c.d.Splits(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fail("Splits", err)
	}
	return r.Splits, nil
}

func (c *datasetClient) Describe(ctx context.Context, split string) (SplitInfo, error) {
	r, err := c.d.Describe(ctx, &pb.DescribeRequest{Split: split})
	if err != nil {
		return SplitInfo{}, c.fail("Describe", err)
	}
	return SplitInfo{Name: r.Name, Len: int(r.Len), LabelNames: r.LabelNames, Task: r.Task}, nil
}

func (c *datasetClient) Batch(ctx context.Context, req BatchRequest) (*Batch, error) {
	idx := make([]int64, len(req.Indices))
	for i, v := range req.Indices {
		idx[i] = int64(v)
	}
	r, err := c.d.Batch(ctx, &pb.BatchRequest{Split: req.Split, Indices: idx, Augment: req.Augment, Seed: req.Seed, Epoch: int64(req.Epoch)})
	return decoded(&c.baseClient, "Batch", err, "", r, fromBatch)
}

// evaluatorClient is an Evaluator across the process boundary.
type evaluatorClient struct {
	baseClient
	v pb.EvaluatorClient
}

func (c *evaluatorClient) Evaluate(ctx context.Context, req EvalRequest) (EvalResult, error) {
	out := &outbox{opts: c.wire}
	defer out.done()
	m, err := evalRequestToWire(out, req)
	if err != nil {
		return EvalResult{}, fmt.Errorf("plugin %q: Evaluate: %w", c.name, err)
	}
	r, err := c.v.Evaluate(ctx, m)
	if err != nil {
		return EvalResult{}, c.fail("Evaluate", err)
	}
	res, err := evalResultFromWire(r)
	if err != nil {
		return res, fmt.Errorf("plugin %q: Evaluate: %w", c.name, err)
	}
	return res, nil
}

func (c *evaluatorClient) Grad(ctx context.Context, features, labels *tensor.Tensor) (float64, *tensor.Tensor, error) {
	out := &outbox{opts: c.wire}
	defer out.done()
	var err error
	f, l := convert(&err, "features", features, out.tensor), convert(&err, "labels", labels, out.tensor)
	if err != nil {
		return 0, nil, fmt.Errorf("plugin %q: Grad: %w", c.name, err)
	}
	r, err := c.v.Grad(ctx, &pb.GradRequest{Features: f, Labels: l})
	g, err := decoded(&c.baseClient, "Grad", err, "gradient", r.GetGrad(), fromTensor)
	if err != nil {
		return 0, nil, err
	}
	return r.Loss, g, nil
}

// remoteError is a plugin's message that stands for one of the SDK's
// errors, which it wraps (errors.Is) without repeating its text.
type remoteError struct {
	msg  string
	kind error
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.kind }
