package evalplugin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
)

// TestFinetuneOverGRPC drives the built-in "finetune" evaluator through the
// real process and gRPC path (sdktest) exactly as the host's fine-tuning loop
// does (Configure a head, Grad per batch, snapshot, predict, restore,
// score) and checks every answer against the same calls in process.
func TestFinetuneOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin process")
	}
	ctx := context.Background()
	remote := startBuiltin(t, FinetuneName)
	info, err := remote.Info(ctx)
	if err != nil || info.Name != FinetuneName || info.Kind != sdk.KindEvaluator {
		t.Fatalf("info %+v (err %v)", info, err)
	}
	local := NewFinetune()
	r := rand.New(rand.NewPCG(12, 12))
	names := []string{"Edema", "Atelectasis"}
	trx, try := synthLabels(r, 96, 6, 2, true)
	tex, tey := synthLabels(r, 60, 6, 2, true)
	test := fset(t, tex, tey, names)
	splits := map[string]*sdk.FeatureSet{}
	seeds := []int{0, 5}
	for _, seed := range seeds {
		cfg := headConfig("multilabel", 6, 2, uint64(seed), 0.1)
		for _, ev := range []sdk.Evaluator{remote, local} {
			if err := ev.Configure(ctx, cfg); err != nil {
				t.Fatal(err)
			}
		}
		for step := 0; step < 3*len(trx)/16; step++ {
			lo := step % (len(trx) / 16) * 16
			x, y := mat(t, trx[lo:lo+16]), mat(t, try[lo:lo+16])
			rl, rg, err := remote.Grad(ctx, x, y)
			if err != nil {
				t.Fatal(err)
			}
			ll, lg, err := local.Grad(ctx, x, y)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := rg.Float32s()
			b, _ := lg.Float32s()
			if rl != ll || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(rg.Shape, lg.Shape) {
				t.Fatalf("seed %d step %d: Grad over gRPC %v, in process %v", seed, step, rl, ll)
			}
			if step == 2*len(trx)/16-1 { // the "best epoch": keep this head
				for _, ev := range []sdk.Evaluator{remote, local} {
					if _, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolSnapshot}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for _, ev := range []sdk.Evaluator{remote, local} {
			if _, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: sdk.ProtocolRestore}); err != nil {
				t.Fatal(err)
			}
		}
		req := sdk.EvalRequest{Protocol: sdk.ProtocolPredict, Splits: map[string]*sdk.FeatureSet{"test": test}}
		got, err := remote.Evaluate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := local.Evaluate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := got.Predictions[0].Scores.Float32s()
		b, _ := want.Predictions[0].Scores.Float32s()
		if !reflect.DeepEqual(got.Metrics, want.Metrics) || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(got.Predictions[0].IDs, want.Predictions[0].IDs) {
			t.Fatalf("seed %d: predict over gRPC %v, in process %v", seed, got.Metrics, want.Metrics)
		}
		p := got.Predictions[0]
		splits[fmt.Sprintf("seed-%d", seed)] = &sdk.FeatureSet{Features: p.Scores, Labels: p.Targets, IDs: p.IDs, LabelNames: p.Names}
	}
	req := sdk.EvalRequest{Protocol: sdk.ProtocolScore, Splits: splits, Params: map[string]any{"task": "multilabel", "seeds": seeds}}
	got, err := remote.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := local.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Scores, want.Scores) || !reflect.DeepEqual(got.Curves, want.Curves) || !reflect.DeepEqual(got.Metrics, want.Metrics) {
		t.Errorf("score over gRPC %+v, in process %+v", got.Scores, want.Scores)
	}
	if len(got.Predictions) != 2 || got.Predictions[0].Name != "seed-0" || got.Predictions[1].Name != "seed-5" {
		t.Errorf("score predictions %+v", got.Predictions)
	}
	checkScore(t, scoreOf(t, got, "auc"), []uint64{0, 5})
	if auc := scoreOf(t, got, "auc"); auc.Mean < 0.8 {
		t.Errorf("auc %v after training the head over gRPC", auc.Mean)
	}
}
