package lossplugin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/losses/lossplugin"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

type config struct {
	Scale float64 `json:"scale"`
	Bias  float64 `json:"bias"`
}

// scaled is a loss whose value is Scale*sum(v)+Bias, with its steps as state.
type scaled struct {
	cfg   config
	steps *int
}

func (l scaled) Compute(v, _ *tensor.Tensor) (sdk.LossResult, error) {
	x, err := v.Float32s()
	if err != nil {
		return sdk.LossResult{}, err
	}
	sum := 0.0
	for _, f := range x {
		sum += float64(f)
	}
	return sdk.LossResult{Loss: l.cfg.Scale*sum + l.cfg.Bias}, nil
}
func (l scaled) Step() error             { *l.steps++; return nil }
func (l scaled) State() ([]byte, error)  { return []byte{byte(*l.steps)}, nil }
func (l scaled) SetState(b []byte) error { *l.steps = int(b[0]); return nil }

var spec = lossplugin.Spec[config]{Name: "scaled", Version: "1.0.0", Description: "a scaled sum",
	Defaults: func() config { return config{Scale: 2, Bias: 1} },
	New: func(cfg config) (lossplugin.Loss, error) {
		if cfg.Scale == 0 {
			return nil, errors.New("scale must not be 0")
		}
		return scaled{cfg: cfg, steps: new(int)}, nil
	}}

// TestRefusedBeforeConfigure: every call of an unconfigured plugin is an
// error naming it, except Info and Close.
func TestRefusedBeforeConfigure(t *testing.T) {
	ctx := context.Background()
	p := spec.Plugin()
	if info, err := p.Info(ctx); err != nil || info.Name != "scaled" {
		t.Errorf("Info = %+v, %v", info, err)
	}
	_, errC := p.Compute(ctx, nil, nil)
	_, errS := p.State(ctx)
	for _, err := range []error{errC, p.Step(ctx), errS, p.SetState(ctx, []byte{1})} {
		if err == nil || err.Error() != "scaled loss: not configured" {
			t.Errorf("got %v", err)
		}
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

// TestConfigureOntoDefaults: the recipe's keys apply over the defaults;
// an unknown key, a mistyped value and the loss's own refusal are errors.
func TestConfigureOntoDefaults(t *testing.T) {
	ctx := context.Background()
	v, err := tensor.FromFloat32([]int64{1, 2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Plugin()
	if err := p.Configure(ctx, map[string]any{"bias": 0.5}); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Compute(ctx, v, v); err != nil || r.Loss != 2*3+0.5 {
		t.Errorf("Compute = %+v, %v; want loss 6.5 (scale 2 by default, bias 0.5)", r, err)
	}
	if err := p.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := p.State(ctx); err != nil || len(st) != 1 || st[0] != 1 {
		t.Errorf("State after a step = %v, %v", st, err)
	}
	for raw, want := range map[string]map[string]any{
		"bais":                {"bais": 1.0},
		"scale":               {"scale": "big"},
		"scale must not be 0": {"scale": 0.0},
	} {
		if err := spec.Plugin().Configure(ctx, want); err == nil || !strings.Contains(err.Error(), raw) {
			t.Errorf("Configure(%v): got %v, want an error naming %q", want, err, raw)
		}
	}
}

// TestStateless: a loss without parameters steps and restores nothing.
func TestStateless(t *testing.T) {
	var s lossplugin.Stateless
	if st, err := s.State(); err != nil || st == nil || len(st) != 0 {
		t.Errorf("State = %v, %v; want empty", st, err)
	}
	if s.Step() != nil || s.SetState([]byte("x")) != nil {
		t.Error("Step or SetState failed")
	}
}

// TestSpecInfo: a Spec's Info is of kind loss at this SDK's protocol, with
// its name, version and description, and, for a Spec with Needs, the
// defaults' needs before Configure.
func TestSpecInfo(t *testing.T) {
	info, err := spec.Plugin().Info(context.Background())
	if err != nil || info.Kind != sdk.KindLoss || info.ProtocolVersion != sdk.ProtocolVersion ||
		info.Version != "1.0.0" || info.Description != "a scaled sum" || info.Needs != nil {
		t.Errorf("Info = %+v, %v", info, err)
	}
	local := spec
	local.Needs = func(c config) *sdk.LossNeeds {
		return &sdk.LossNeeds{Image: []string{strings.Repeat("x", int(c.Scale))}}
	}
	if info := local.Info(); info.Needs == nil || len(info.Needs.Image) != 1 || info.Needs.Image[0] != "xx" {
		t.Errorf("Info before Configure: needs %+v, want the defaults' (scale 2: xx)", info.Needs)
	}
}

// TestBuildsNeverTypedNil: a constructor's error comes back with a nil
// Loss, not a nil pointer inside a Loss.
func TestBuildsNeverTypedNil(t *testing.T) {
	build := lossplugin.Builds(func(config) (*scaled, error) { return nil, errors.New("refused") })
	if l, err := build(config{}); l != nil || err == nil || err.Error() != "refused" {
		t.Errorf("Builds = %v, %v; want nil and the error", l, err)
	}
}
