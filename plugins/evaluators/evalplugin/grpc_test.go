package evalplugin

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
)

// TestMain lets the test binary serve the built-ins when sdktest.Start
// re-runs it as one.
func TestMain(m *testing.M) {
	sdktest.Main(builtin.Serve)
	os.Exit(m.Run())
}

// startBuiltin serves the built-in evaluator name from this test binary in
// its own process, over the real gRPC path.
func startBuiltin(t *testing.T, name string) sdk.Evaluator {
	t.Helper()
	return sdktest.Start(t, name, sdk.KindEvaluator).(sdk.Evaluator)
}

func TestBuiltinsOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	ctx := context.Background()
	cfg := map[string]any{"bootstrap": 100}
	cases := []struct {
		name  string
		local sdk.Evaluator
		req   sdk.EvalRequest
	}{
		{"linear", NewLinear(), labelRequest(t, 11, true, map[string]any{"task": "multilabel", "fraction": 0.5, "seeds": []int{0, 1}})},
		{"retrieval", NewRetrieval(), handRetrieval(t)},
		{"zeroshot", NewZeroShot(), handZeroShot(t, "multiclass")},
	}
	for _, c := range cases {
		remote := startBuiltin(t, c.name)
		info, err := remote.Info(ctx)
		if err != nil || info.Name != c.name || info.Kind != sdk.KindEvaluator || len(info.Schema.Fields) == 0 {
			t.Fatalf("%s: info %+v (err %v)", c.name, info, err)
		}
		if err := remote.Configure(ctx, cfg); err != nil {
			t.Fatalf("%s: configure: %v", c.name, err)
		}
		got, err := remote.Evaluate(ctx, c.req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := configured(t, c.local, cfg).Evaluate(ctx, c.req)
		if err != nil {
			t.Fatal(err)
		}
		// The wire carries params as JSON and every number, score and
		// curve unchanged: the process gives the in-process answer.
		if !reflect.DeepEqual(got.Scores, want.Scores) || !reflect.DeepEqual(got.Metrics, want.Metrics) || !reflect.DeepEqual(got.Curves, want.Curves) {
			t.Errorf("%s: over gRPC %+v, in process %+v", c.name, got.Scores, want.Scores)
		}
		if len(got.Predictions) != len(want.Predictions) {
			t.Fatalf("%s: %d predictions over gRPC, %d in process", c.name, len(got.Predictions), len(want.Predictions))
		}
		for i, p := range got.Predictions {
			a, _ := p.Scores.Float32s()
			b, _ := want.Predictions[i].Scores.Float32s()
			if p.Name != want.Predictions[i].Name || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(p.IDs, want.Predictions[i].IDs) {
				t.Errorf("%s: predictions %s differ", c.name, p.Name)
			}
		}
		// Errors come back with their message.
		bad := c.req
		bad.Protocol = "finetune"
		if _, err := remote.Evaluate(ctx, bad); err == nil || !strings.Contains(err.Error(), `protocol "finetune" is not implemented`) {
			t.Errorf("%s: wrong protocol over gRPC: %v", c.name, err)
		}
	}
}
