package finetune

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// rowsData serves sample i of any split as a 1x1x1 image of value i with
// label i%2.
type rowsData struct{}

func (rowsData) Batch(_ context.Context, req sdk.BatchRequest) (*sdk.Batch, error) {
	b := &sdk.Batch{}
	var x, y []float32
	for _, i := range req.Indices {
		b.IDs = append(b.IDs, fmt.Sprintf("%s-%d", req.Split, i))
		x, y = append(x, float32(i)), append(y, float32(i%2))
	}
	n := int64(len(req.Indices))
	var err error
	if b.Images, err = tensor.FromFloat32([]int64{n, 1, 1, 1}, x); err != nil {
		return nil, err
	}
	b.Labels, err = tensor.FromFloat32([]int64{n, 1}, y)
	return b, err
}

// stepEnc is an encoder whose state is its step count; it returns two
// features per image and records the validation losses its steps receive.
type stepEnc struct {
	Steps     int
	valLosses []float64
	restores  int
}

func (e *stepEnc) Forward(_ context.Context, req sdk.ForwardRequest) (*tensor.Tensor, error) {
	n := int64(len(req.Batch.IDs))
	return tensor.FromFloat32([]int64{n, 2}, make([]float32, 2*n))
}
func (e *stepEnc) Backward(context.Context, *tensor.Tensor) error { return nil }
func (e *stepEnc) Step(_ context.Context, req sdk.StepRequest) error {
	e.Steps++
	if req.ValLoss != nil {
		e.valLosses = append(e.valLosses, *req.ValLoss)
	}
	return nil
}
func (e *stepEnc) State(context.Context) ([]byte, error) { return json.Marshal(e) }
func (e *stepEnc) SetState(_ context.Context, b []byte) error {
	e.restores++
	return json.Unmarshal(b, e)
}

// scriptHead answers each validation with the next loss of its script and
// counts the snapshots and restores the loop asks for.
type scriptHead struct {
	script              []float64
	snapshots, restores int
}

func (h *scriptHead) Grad(_ context.Context, feats, _ *tensor.Tensor) (float64, *tensor.Tensor, error) {
	g, err := tensor.FromFloat32(feats.Shape, make([]float32, feats.Shape[0]*feats.Shape[1]))
	return 0.5, g, err
}

func (h *scriptHead) Evaluate(_ context.Context, req sdk.EvalRequest) (sdk.EvalResult, error) {
	switch req.Protocol {
	case sdk.ProtocolSnapshot:
		h.snapshots++
	case sdk.ProtocolRestore:
		h.restores++
	case sdk.ProtocolPredict:
		if req.Splits[sdk.SplitVal] == nil {
			return sdk.EvalResult{}, fmt.Errorf("predict without a validation split")
		}
		loss := h.script[0]
		h.script = h.script[1:]
		return sdk.EvalResult{Metrics: map[string]float64{sdk.LossKey: loss}}, nil
	}
	return sdk.EvalResult{}, nil
}

// TestTrainStopsEarlyAndRestoresBest: validation losses 3, 1, 2, 2.5 with
// patience 2 stop training after epoch 3, bring back the encoder and head
// of epoch 1 (a snapshot at each new best), hand each validation loss to
// the encoder's next step, and configure the head once with the features'
// width.
func TestTrainStopsEarlyAndRestoresBest(t *testing.T) {
	var log bytes.Buffer
	enc, head := &stepEnc{}, &scriptHead{script: []float64{3, 1, 2, 2.5, 0.1, 0.1}}
	var configured []int
	pr := &Probe{
		Plan: &Plan{TrainSplit: "train", TestSplit: "test", Task: sdk.TaskBinary, Names: []string{"finding"}, ValSplit: "val", ValRows: []int{0, 1}},
		Enc:  enc, Data: rowsData{}, Head: head,
		ConfigureHead: func(_ context.Context, task string, in, out, seed int) error {
			configured = append(configured, in, out, seed)
			return nil
		},
		Settings: Settings{Epochs: 10, BatchSize: 2, Patience: 2}, Seed: 7, Rows: []int{0, 1, 2, 3}, Key: "ft",
		Log: &log, LogMetric: func(string, float64, int64) error { return nil },
	}
	if err := pr.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if enc.Steps != 4 || enc.restores != 1 || head.snapshots != 2 || head.restores != 1 {
		t.Errorf("encoder at step %d after %d restores, head %d snapshots %d restores: want epoch 1's (step 4), one restore each, two snapshots",
			enc.Steps, enc.restores, head.snapshots, head.restores)
	}
	if fmt.Sprint(enc.valLosses) != "[3 1 2]" {
		t.Errorf("validation losses passed to the encoder's steps: %v, want [3 1 2]", enc.valLosses)
	}
	if fmt.Sprint(configured) != "[2 1 7]" {
		t.Errorf("head configured with (in, out, seed) %v, want once with [2 1 7]", configured)
	}
	for _, want := range []string{"early stop after epoch 3", "testing epoch 1 (validation loss 1.0000) of 4 run"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
