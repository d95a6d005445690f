package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestMain(m *testing.M) {
	sdktest.Main(func(name string) error {
		if name == "" {
			return errors.New("sdktest: serve called with no plugin name")
		}
		if serve, ok := namedPlugins[name]; ok {
			return serve()
		}
		if name != "counter" {
			return fmt.Errorf("no plugin %q here", name)
		}
		return sdk.Serve(sdk.ServeConfig{Evaluator: &counter{}})
	})
	os.Exit(m.Run())
}

// counter is an evaluator that counts the splits of a request, plus the
// offset it was configured with, and has no head.
type counter struct{ offset float64 }

func (c *counter) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "counter", Version: "0.0.1"}, nil
}

func (c *counter) Configure(_ context.Context, cfg map[string]any) error {
	c.offset, _ = cfg["offset"].(float64)
	return nil
}

func (c *counter) Close() error { return nil }

func (c *counter) Evaluate(_ context.Context, req sdk.EvalRequest) (sdk.EvalResult, error) {
	return sdk.EvalResult{Metrics: map[string]float64{"splits": float64(len(req.Splits)) + c.offset}}, nil
}

func (c *counter) Grad(context.Context, *tensor.Tensor, *tensor.Tensor) (float64, *tensor.Tensor, error) {
	return 0, nil, fmt.Errorf("counter has no head")
}

// TestStartServesOverTheWire: the plugin Start returns runs in another
// process (Info carries the kind Serve fills in), takes its config and
// requests over gRPC, and its errors arrive with their message.
func TestStartServesOverTheWire(t *testing.T) {
	ctx := context.Background()
	ev := sdktest.Start(t, "counter", sdk.KindEvaluator).(sdk.Evaluator)
	info, err := ev.Info(ctx)
	if err != nil || info.Name != "counter" || info.Kind != sdk.KindEvaluator || info.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := ev.Configure(ctx, map[string]any{"offset": 10}); err != nil {
		t.Fatal(err)
	}
	res, err := ev.Evaluate(ctx, sdk.EvalRequest{Protocol: "count", Splits: map[string]*sdk.FeatureSet{"a": {}, "b": {}}})
	if err != nil || res.Metrics["splits"] != 12 {
		t.Fatalf("Evaluate = %+v, %v; want splits 12", res, err)
	}
	if _, _, err := ev.Grad(ctx, nil, nil); err == nil || !strings.Contains(err.Error(), "counter has no head") {
		t.Fatalf("Grad error = %v, want the plugin's message", err)
	}
}

// TestMainServesWithoutAName: a binary started with the handshake cookie
// but no EnvServe (as a host starts a single-plugin binary) is served by
// Main with the name "", not run as a test binary.
func TestMainServesWithoutAName(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sdk.Handshake.MagicCookieKey+"="+sdk.Handshake.MagicCookieValue)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "serve called with no plugin name") {
		t.Fatalf("exit %v, output %q; want serve called with \"\" and its error", err, out)
	}
}
