package experiment

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/convirt/convirt/core/recipe"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/schema"
)

// testPlateauEncoder names an encoder whose schema declares the keys the
// host fills for a schedule, and testFinetuneHead the fine-tuning head
// (registered for their Info only: they are never started; plateauEncoder
// and headEvaluator play them in process).
const (
	testPlateauEncoder = "test-plateau-encoder"
	testFinetuneHead   = "test-finetune-head"
)

func init() {
	builtin.RegisterEncoder(testPlateauEncoder, func() sdk.Encoder { return &plateauEncoder{} })
	builtin.RegisterEvaluator(testFinetuneHead, func() sdk.Evaluator { return &headEvaluator{} })
}

// plateauEncoder is fakeEncoder with the plateau schedule of the built-in
// encoders (plugins/encoders/optim.Schedule, ReduceLROnPlateau in mode min
// with relative threshold 1e-4): a validation loss that is not below the
// best by the threshold is a bad one, and after more than patience bad ones
// in a row the learning rate is multiplied by factor. lrs records the rate
// each step trained with.
type plateauEncoder struct {
	fakeEncoder
	lr, factor, best float64
	patience, bad    int
	hasBest          bool
	lrs              []float64
}

func (e *plateauEncoder) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: testPlateauEncoder, Version: "0.0.1", Schema: schema.Schema{Fields: []schema.Field{
		{Name: "optimizer", Type: schema.String, Default: "adam"},
		{Name: "lr", Type: schema.Float, Default: 1e-4},
		{Name: "weight_decay", Type: schema.Float, Default: 0.0},
		{Name: "schedule", Type: schema.String, Default: "none"},
		{Name: "factor", Type: schema.Float, Default: 0.5},
		{Name: "patience", Type: schema.Int, Default: 0},
		{Name: "seed", Type: schema.Int, Default: 0},
	}}}, nil
}

func (e *plateauEncoder) Configure(context.Context, map[string]any) error { return nil }
func (e *plateauEncoder) Close() error                                    { return nil }

func (e *plateauEncoder) Step(ctx context.Context, req sdk.StepRequest) error {
	if v := req.ValLoss; v != nil {
		if !e.hasBest || *v < e.best*(1-1e-4) {
			e.best, e.hasBest, e.bad = *v, true, 0
		} else if e.bad++; e.bad > e.patience {
			e.lr *= e.factor
			e.bad = 0
		}
	}
	e.lrs = append(e.lrs, e.lr)
	return e.fakeEncoder.Step(ctx, req)
}

// TestFinetunePlateauCutFiresBeforeEarlyStop fine-tunes with the recipe's
// default schedule (plateau) and early-stopping patience on a validation
// loss that stops improving after epoch 1: the learning rate must be cut,
// and at least one step must train at the cut rate, before early stopping
// ends the probe. With both patiences 5 the cut needed six bad epochs and
// the stop came after five.
func TestFinetunePlateauCutFiresBeforeEarlyStop(t *testing.T) {
	ctx := context.Background()
	r, err := recipe.Parse("ft.yaml", []byte(`
name: ft
seed: 1
image_encoder: {plugin: `+testPlateauEncoder+`}
evaluate:
  - name: ft
    evaluator: {plugin: finetune}
    dataset: {plugin: none}
    protocol: finetune
    inits: [random]
`), recipe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Train.Schedule.Kind != "plateau" || r.Evaluate[0].Finetune.Patience == 0 {
		t.Fatalf("defaults changed: schedule %q, finetune patience %d: this test wants a plateau schedule with early stopping", r.Train.Schedule.Kind, r.Evaluate[0].Finetune.Patience)
	}
	enc := &plateauEncoder{fakeEncoder: fakeEncoder{W: 1, breakAt: 17}}
	pr, logPath := fakeProbe(t, 20, r.Evaluate[0].Finetune.Patience, true, &enc.fakeEncoder)
	pr.er.s.r = r
	pr.enc = enc
	cfg, err := pr.er.finetuneEncoderConfig("random", 160)
	if err != nil {
		t.Fatal(err)
	}
	if cfg["schedule"] != "plateau" {
		t.Fatalf("encoder config %v: want the recipe's plateau schedule", cfg)
	}
	enc.lr, enc.factor = cfg["lr"].(float64), cfg["factor"].(float64)
	var ok bool
	if enc.patience, ok = intValue(cfg["patience"]); !ok {
		t.Fatalf("encoder config patience %v", cfg["patience"])
	}
	if err := pr.train(ctx); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "early stop") {
		t.Fatalf("the probe did not stop early (the test needs a plateau); run log:\n%s", log)
	}
	if n := len(enc.lrs); n == 0 || enc.lrs[n-1] >= enc.lrs[0] {
		t.Errorf("learning rates per step %v: no step trained at a cut rate before early stopping (plateau patience %v, early-stopping patience %d)",
			enc.lrs, cfg["patience"], r.Evaluate[0].Finetune.Patience)
	}
	if !strings.Contains(string(log), "plateau patience") {
		t.Errorf("run log does not say the plateau patience was capped:\n%s", log)
	}
}
