package host

import (
	"context"
	"fmt"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// ForwardNamed is the plugin's sdk.NamedEncoder call (named outputs for a
// loss that declares sdk.LossNeeds).
func (e *Encoder) ForwardNamed(ctx context.Context, req sdk.ForwardRequest) (map[string]*tensor.Tensor, error) {
	ne, ok := e.Encoder.(sdk.NamedEncoder)
	if !ok {
		return nil, fmt.Errorf("plugin %q: its client serves no named outputs", e.proc.info.Name)
	}
	return ne.ForwardNamed(ctx, req)
}

// BackwardNamed is the plugin's sdk.NamedEncoder call.
func (e *Encoder) BackwardNamed(ctx context.Context, grads map[string]*tensor.Tensor) error {
	ne, ok := e.Encoder.(sdk.NamedEncoder)
	if !ok {
		return fmt.Errorf("plugin %q: its client serves no named outputs", e.proc.info.Name)
	}
	return ne.BackwardNamed(ctx, grads)
}

// ComputeLocal is the plugin's sdk.LocalLoss call.
func (l *Loss) ComputeLocal(ctx context.Context, in sdk.LocalInputs) (sdk.LossResult, error) {
	ll, ok := l.Loss.(sdk.LocalLoss)
	if !ok {
		return sdk.LossResult{}, fmt.Errorf("plugin %q: its client takes no named outputs", l.proc.info.Name)
	}
	return ll.ComputeLocal(ctx, in)
}

var (
	_ sdk.NamedEncoder = (*Encoder)(nil)
	_ sdk.LocalLoss    = (*Loss)(nil)
)
