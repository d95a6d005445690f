package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
)

func TestMain(m *testing.M) {
	plugintest.Main()
	os.Exit(m.Run())
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startScale starts the Scale encoder with spec tweaks and a private shm dir.
func startScale(t *testing.T, tweak func(*host.Spec)) *host.Encoder {
	t.Helper()
	spec := plugintest.Spec(plugintest.ModeScale)
	spec.StartTimeout = 20 * time.Second
	if tweak != nil {
		tweak(&spec)
	}
	enc, err := host.StartEncoder(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = enc.Close() })
	return enc
}

func ramp(t *testing.T, shape ...int64) *tensor.Tensor {
	t.Helper()
	v := make([]float32, tensor.Numel(shape))
	for i := range v {
		v[i] = float32(i%1000) / 10
	}
	x, err := tensor.FromFloat32(shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestEncoderRoundTripInlineAndSharedMemory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(shm.EnvDir, dir)
	log := &syncBuffer{}
	enc := startScale(t, func(s *host.Spec) { s.Log = log })
	ctx := context.Background()
	info := enc.Process().Info()
	if info.Name != "scale" || info.Kind != sdk.KindEncoder || info.Version != "1.2.3" || info.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("info = %+v", info)
	}
	if len(info.Schema.Fields) != 2 || info.Schema.Fields[1].Min == nil {
		t.Fatalf("schema did not survive the wire: %+v", info.Schema)
	}
	if err := enc.Configure(ctx, map[string]any{"scale": 2.0, "lr": 0.5}); err != nil {
		t.Fatal(err)
	}
	for _, shape := range [][]int64{{2, 1, 4, 4}, {16, 3, 64, 64}} { // 128 B inline; 768 KiB via shm
		x := ramp(t, shape...)
		y, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x, IDs: []string{"a"}}, Graph: true})
		if err != nil {
			t.Fatal(err)
		}
		xs, _ := x.Float32s()
		ys, err := y.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range xs {
			if ys[i] != 2*xs[i] {
				t.Fatalf("shape %v: y[%d] = %v, want %v", shape, i, ys[i], 2*xs[i])
			}
		}
	}
	// Backward + Step: dL/ds = sum(g*x) with g = 1 over the last forward.
	x := ramp(t, 1, 1, 2, 2) // 0, .1, .2, .3
	if _, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}, Graph: true}); err != nil {
		t.Fatal(err)
	}
	g, _ := tensor.FromFloat32([]int64{1, 1, 2, 2}, []float32{1, 1, 1, 1})
	if err := enc.Backward(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := enc.Step(ctx, sdk.StepRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := enc.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(st, &m); err != nil || math.Abs(m["s"]-1.7) > 1e-6 { // 2 - 0.5*0.6
		t.Fatalf("state %s (%v): want s = 1.7", st, err)
	}
	if err := enc.SetState(ctx, []byte(`{"s":3}`)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("shared-memory segments left behind: %v", ents)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "scale") {
		t.Errorf("plugin log is empty: %q", log.String())
	}
}

func TestEverythingThroughSharedMemoryUnderATinyMessageLimit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(shm.EnvDir, dir)
	enc := startScale(t, func(s *host.Spec) { s.Wire = sdk.WireOptions{ShmThreshold: 8, MaxMessageBytes: 4096} })
	ctx := context.Background()
	if err := enc.Configure(ctx, map[string]any{"scale": -1.0}); err != nil {
		t.Fatal(err)
	}
	// 16 KiB each way: only shared memory can carry it under a 4 KiB limit.
	x := ramp(t, 4, 1, 32, 32)
	y, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: x}})
	if err != nil {
		t.Fatal(err)
	}
	xs, _ := x.Float32s()
	ys, _ := y.Float32s()
	for i := range xs {
		if ys[i] != -xs[i] {
			t.Fatalf("y[%d] = %v, want %v", i, ys[i], -xs[i])
		}
	}
	st, err := enc.State(ctx) // a blob over the threshold
	if err != nil || !strings.Contains(string(st), `"s":-1`) {
		t.Fatalf("State = %s, %v", st, err)
	}
	if err := enc.SetState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("segments left behind: %v", ents)
	}
}

func TestOversizeMessageFailsClearly(t *testing.T) {
	enc := startScale(t, func(s *host.Spec) { s.Wire = sdk.WireOptions{ShmThreshold: -1, MaxMessageBytes: 64 << 10} })
	done := make(chan error, 1)
	go func() {
		_, err := enc.Forward(context.Background(), sdk.ForwardRequest{Batch: &sdk.Batch{Images: ramp(t, 1, 1, 128, 256)}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, sdk.ErrMessageTooLarge) || !strings.Contains(err.Error(), `plugin "scale": Forward`) {
			t.Fatalf("error = %v", err)
		}
		t.Log(err)
	case <-time.After(10 * time.Second):
		t.Fatal("oversize message hung")
	}
}

func TestBuiltInStartsAsPluginServe(t *testing.T) {
	loss, err := host.StartLoss(context.Background(), host.Spec{Name: "builtin-dot", BuiltIn: true, Exe: os.Args[0], Args: plugintest.ServeArgs("builtin-dot")})
	if err != nil {
		t.Fatal(err)
	}
	defer loss.Close()
	v, _ := tensor.FromFloat32([]int64{2}, []float32{1, 2})
	u, _ := tensor.FromFloat32([]int64{2}, []float32{3, 4})
	r, err := loss.Compute(context.Background(), v, u)
	if err != nil {
		t.Fatal(err)
	}
	if r.Loss != 11 || !bytes.Equal(r.GradV.Data, u.Data) || !bytes.Equal(r.GradU.Data, v.Data) || r.Metrics["n"] != 2 || r.Chance != math.Log(2) {
		t.Fatalf("result = %+v", r)
	}
}

func TestKindMismatchIsRefused(t *testing.T) {
	spec := plugintest.Spec(plugintest.ModeDot)
	_, err := host.StartEncoder(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), `plugin "dot" is a loss plugin, not a encoder plugin`) {
		t.Fatalf("error = %v", err)
	}
}

func TestConfigCheckRunsBeforeConfigure(t *testing.T) {
	enc := startScale(t, func(s *host.Spec) {
		s.CheckConfig = func(sc schema.Schema, cfg map[string]any) error {
			if _, ok := cfg["bogus"]; ok {
				return errors.New(`unknown key "bogus"`)
			}
			return nil
		}
	})
	err := enc.Configure(context.Background(), map[string]any{"bogus": 1})
	if err == nil || !strings.Contains(err.Error(), `plugin "scale": config: unknown key "bogus"`) {
		t.Fatalf("error = %v", err)
	}
	// Without the check the plugin's own decoding refuses it too.
	enc2 := startScale(t, nil)
	err = enc2.Configure(context.Background(), map[string]any{"bogus": 1})
	if err == nil || !strings.Contains(err.Error(), `plugin "scale": Configure: config: json: unknown field "bogus"`) {
		t.Fatalf("error = %v", err)
	}
}

// TestBuiltInNeedsServeArgs: the host does not know how an executable
// serves its built-ins; a built-in spec without the arguments that do is
// an error naming the plugin, not a process started with a guessed
// command line.
func TestBuiltInNeedsServeArgs(t *testing.T) {
	_, err := host.StartLoss(context.Background(), host.Spec{Name: "builtin-dot", BuiltIn: true, Exe: os.Args[0]})
	if err == nil || !strings.Contains(err.Error(), `"builtin-dot"`) || !strings.Contains(err.Error(), "Spec.Args") {
		t.Fatalf("err = %v, want one naming the plugin and Spec.Args", err)
	}
}
