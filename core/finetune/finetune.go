// Package finetune is the host's fine-tuning loop (docs/evaluators.md,
// protocol finetune): one probe trains a fresh image encoder plugin and the
// evaluator plugin's head on a labelled subset, split across the two
// processes (the encoder's features with a graph, the head's loss and
// gradient from the evaluator, the encoder's backward and step), with
// validation after each epoch, early stopping, and the best epoch's encoder
// and head restored for the test.
package finetune

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/core/train"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/subset"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// Plan is what every probe of one fine-tuning evaluation shares: the
// splits, the task, the training pool the subsets are drawn from and the
// validation and test rows.
type Plan struct {
	TrainSplit, TestSplit string
	Task                  string
	Names                 []string // the label columns
	// Pool are the train rows the labelled subsets are drawn from, with
	// their labels.
	Pool       []int
	PoolLabels [][]float32
	// ValSplit and ValRows are the validation examples (ValRows nil: no
	// validation).
	ValSplit string
	ValRows  []int
	TestRows []int
}

// Subset draws the train rows of one probe: seed's stratified subset of
// fraction of the pool (subset.Stratified, the rule the linear evaluator
// applies too).
func (p *Plan) Subset(fraction float64, seed int) ([]int, error) {
	idx, err := subset.Stratified(p.PoolLabels, fraction, int64(seed))
	if err != nil {
		return nil, fmt.Errorf("labelled subset: %w", err)
	}
	if len(idx) < 2 {
		return nil, fmt.Errorf("the labelled subset has %d example: fine-tuning needs at least 2", len(idx))
	}
	rows := make([]int, len(idx))
	for j, i := range idx {
		rows[j] = p.Pool[i]
	}
	return rows, nil
}

// Settings are the recipe's fine-tuning settings the loop reads
// (evaluate[].finetune).
type Settings struct {
	Epochs, BatchSize int
	// Patience is early stopping's: epochs without a lower validation loss
	// (0: no early stopping).
	Patience int
	Augment  bool
}

// Trainable is what fine-tuning needs of an encoder plugin: what the
// pretraining loop needs of one (forward, backward, step, state).
type Trainable = train.Encoder

// Head is what fine-tuning needs of the evaluator plugin holding the
// classification head: its loss and gradient, and the protocols
// sdk.ProtocolPredict, ProtocolSnapshot and ProtocolRestore.
type Head interface {
	Evaluate(ctx context.Context, req sdk.EvalRequest) (sdk.EvalResult, error)
	Grad(ctx context.Context, features, labels *tensor.Tensor) (float64, *tensor.Tensor, error)
}

// BatchesOf cuts rows into batches of size; a last batch of one row joins
// the one before (batch normalisation cannot train on one image).
func BatchesOf(rows []int, size int) [][]int {
	var out [][]int
	for lo := 0; lo < len(rows); lo += size {
		out = append(out, rows[lo:min(lo+size, len(rows))])
	}
	if n := len(out); n > 1 && len(out[n-1]) == 1 {
		out[n-2] = append(append([]int(nil), out[n-2]...), out[n-1]...)
		out = out[:n-1]
	}
	return out
}

// PlateauPatience returns the plateau schedule patience fine-tuning uses
// with early-stopping patience stop (> 0), given the configured one, and
// whether a learning-rate cut can then take effect before training stops.
//
// A plateau schedule with patience p cuts the rate after p+1 validations
// without improvement (ReduceLROnPlateau), and the encoder learns of a
// validation loss at the first step of the next epoch; early stopping ends
// training after stop epochs without improvement. The cut takes effect
// only if an epoch follows it: p+1 < stop, so p is capped at stop-2. With
// equal patiences (both 5 by default) the cut would never fire.
func PlateauPatience(p, stop int) (int, bool) {
	if stop < 2 {
		return p, false
	}
	return min(p, stop-2), true
}
