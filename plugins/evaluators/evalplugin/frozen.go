package evalplugin

import (
	"context"
	"fmt"
	"sync"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

// frozenSpec says what one evaluator of frozen features is ("linear",
// "zeroshot", "retrieval"): everything its plugin shell (frozen) does not
// share with the others.
type frozenSpec[C any] struct {
	name, protocol, description string
	// params are the request params the protocol takes; Evaluate refuses
	// others, and requests of another protocol, before run.
	params []string
	// defaults is the config before Configure (a fresh value each call);
	// the schema Info reports is derived from it.
	defaults func() C
	// check states the config rules the tags cannot; nil: none.
	check func(C) error
	// run checks the request and evaluates it.
	run func(context.Context, sdk.EvalRequest, C) (sdk.EvalResult, error)
}

// frozen serves a frozenSpec as an sdk.Evaluator: Info, Configure (the
// config decoded onto the defaults and checked), Evaluate under guard, and
// Grad refused, since the features are frozen.
type frozen[C any] struct {
	spec *frozenSpec[C]
	mu   sync.Mutex
	cfg  C
}

// newFrozen returns spec's shell with the default config.
func newFrozen[C any](spec *frozenSpec[C]) frozen[C] {
	return frozen[C]{spec: spec, cfg: spec.defaults()}
}

// Info implements sdk.Plugin.
func (p *frozen[C]) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: p.spec.name, Kind: sdk.KindEvaluator, Version: Version, ProtocolVersion: sdk.ProtocolVersion,
		Description: p.spec.description, Schema: schema.MustDerive(p.spec.defaults())}, nil
}

// Configure implements sdk.Plugin.
func (p *frozen[C]) Configure(_ context.Context, raw map[string]any) error {
	cfg := p.spec.defaults()
	if err := decodeConfig(p.spec.name, raw, &cfg); err != nil {
		return err
	}
	if p.spec.check != nil {
		if err := p.spec.check(cfg); err != nil {
			return fmt.Errorf("evaluator %q: %w", p.spec.name, err)
		}
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	return nil
}

// decodeConfig decodes raw onto cfg (holding the defaults) and checks it
// against its tags; errors name the evaluator.
func decodeConfig[C any](name string, raw map[string]any, cfg *C) error {
	if err := sdk.DecodeConfig(raw, cfg); err != nil {
		return fmt.Errorf("evaluator %q: %w", name, err)
	}
	if err := checkConfig(*cfg); err != nil {
		return fmt.Errorf("evaluator %q: %w", name, err)
	}
	return nil
}

// Close implements sdk.Plugin.
func (p *frozen[C]) Close() error { return nil }

// Grad implements sdk.Evaluator; an evaluator of frozen features does not
// fine-tune.
func (p *frozen[C]) Grad(context.Context, *tensor.Tensor, *tensor.Tensor) (float64, *tensor.Tensor, error) {
	return 0, nil, fmt.Errorf("evaluator %q: %w", p.spec.name, errGrad(p.spec.protocol))
}

// Evaluate implements sdk.Evaluator for the spec's protocol.
func (p *frozen[C]) Evaluate(ctx context.Context, req sdk.EvalRequest) (res sdk.EvalResult, err error) {
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	err = guard(p.spec.name, func() error {
		if err := checkProtocol(req.Protocol, p.spec.protocol); err != nil {
			return err
		}
		if err := (params{req.Params}).checkKeys(p.spec.params...); err != nil {
			return err
		}
		res, err = p.spec.run(ctx, req, cfg)
		return err
	})
	if err != nil {
		return sdk.EvalResult{}, fmt.Errorf("evaluator %q: %w", p.spec.name, err)
	}
	return res, nil
}
