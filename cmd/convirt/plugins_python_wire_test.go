package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/convirt/convirt/plugins/sdk/tensor"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
)

// needPythonSDK skips (or, with $CI set, fails) when Debian's Python lacks
// what the SDK itself imports; torch is not needed.
func needPythonSDK(t *testing.T) {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", "import grpc, google.protobuf, numpy, cryptography").CombinedOutput()
	if err == nil {
		return
	}
	msg := "%s cannot import the Python plugin SDK's packages (python3-grpcio python3-protobuf python3-numpy python3-cryptography; make setup installs them): %v\n%s"
	if os.Getenv("CI") != "" {
		t.Fatalf(msg, debianPython, err, out)
	}
	t.Skipf(msg, debianPython, err, out)
}

// sumPlugin is the SDK's numpy-only test encoder, an executable script.
func sumPlugin(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "plugins", "sdk", "python", "tests", "sum_plugin.py"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The Python SDK against the Go host over the real wire (AutoMTLS, the
// handshake, the services of plugin.proto): forward, backward and step give
// the values the test encoder defines, with images and gradients in shared
// memory (arriving as views, not copies) or inline, after SIGTERM and SIGINT
// as before; its state moves to a second process; a failure comes back as
// the plugin's one-line error; no segment is left once it is closed.
func TestPythonSDKOverTheWire(t *testing.T) {
	needPythonSDK(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		threshold int
		view      float32
	}{{"shared memory", 1, 1}, {"inline", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			segs := t.TempDir()
			t.Setenv(shm.EnvDir, segs)
			var log bytes.Buffer
			spec := host.Spec{Name: "py-sum", Path: sumPlugin(t), Wire: sdk.WireOptions{ShmThreshold: tc.threshold}, Log: &log}
			enc, err := host.StartEncoder(ctx, spec)
			if err != nil {
				t.Fatalf("start: %v\n%s", err, log.String())
			}
			defer enc.Close()
			if info := enc.Process().Info(); info.Name != "py-sum" || info.Kind != sdk.KindEncoder || info.ProtocolVersion != sdk.ProtocolVersion || len(info.Schema.Fields) != 3 {
				t.Fatalf("info %+v", info)
			}
			if err := enc.Configure(ctx, map[string]any{"dim": 3, "lr": 0.01}); err != nil {
				t.Fatal(err)
			}
			// A batch scheduler's SIGTERM, a terminal's SIGINT: the plugin
			// stays up for the host to save its state (it answers below).
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
				if err := syscall.Kill(enc.Process().PID(), sig); err != nil {
					t.Fatal(err)
				}
			}
			// Two images: sums 1+2+...+16 = 136 and 16 x 0.5 = 8.
			px := make([]float32, 32)
			for i := range 16 {
				px[i], px[16+i] = float32(i+1), 0.5
			}
			images, _ := tensor.FromFloat32([]int64{2, 1, 4, 4}, px)
			batch := &sdk.Batch{IDs: []string{"a", "b"}, Images: images}
			proj := forward32(t, enc, sdk.ForwardRequest{Batch: batch, Train: true, Graph: true, Output: sdk.OutputProjection})
			if want := []float32{136, 136, 136, 8, 8, 8}; !equal32(proj, want) {
				t.Fatalf("projection %v, want %v", proj, want)
			}
			grad, _ := tensor.FromFloat32([]int64{2, 3}, []float32{1, 1, 1, 0.5, 0.5, 0.5})
			if err := enc.Backward(ctx, grad); err != nil {
				t.Fatal(err)
			}
			if err := enc.Step(ctx, sdk.StepRequest{}); err != nil {
				t.Fatal(err)
			}
			if lr, ok := enc.LearningRate(); !ok || lr != 0.01 {
				t.Errorf("learning rate %v, %v", lr, ok)
			}
			// dL/dw = 3*136 + 1.5*8 = 420: w = 1 - 0.01*420 = -3.2.
			proj = forward32(t, enc, sdk.ForwardRequest{Batch: batch, Output: sdk.OutputProjection})
			if want := []float32{-435.2, -435.2, -435.2, -25.6, -25.6, -25.6}; !near32(proj, want) {
				t.Fatalf("projection after a step %v, want %v", proj, want)
			}
			feats := forward32(t, enc, sdk.ForwardRequest{Batch: batch, Output: sdk.OutputFeatures})
			if want := []float32{136, tc.view, 8, tc.view}; !equal32(feats, want) {
				t.Errorf("features [sum, arrived as a view] %v, want %v", feats, want)
			}

			state, err := enc.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			other, err := host.StartEncoder(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if err := other.Configure(ctx, map[string]any{"dim": 3}); err != nil {
				t.Fatal(err)
			}
			if err := other.SetState(ctx, state); err != nil {
				t.Fatal(err)
			}
			if got := forward32(t, other, sdk.ForwardRequest{Batch: batch}); !equal32(got, proj) {
				t.Errorf("after SetState: %v, want %v", got, proj)
			}
			err = other.Configure(ctx, map[string]any{"fail": true})
			if err == nil || !strings.Contains(err.Error(), `plugin "py-sum"`) || !strings.Contains(err.Error(), "configure was asked to fail on two lines") {
				t.Errorf("a plugin's failure: %v", err)
			}
			if _, err := enc.ForwardNamed(ctx, sdk.ForwardRequest{Batch: batch, Outputs: []string{sdk.OutputSpatial}}); err == nil || !strings.Contains(err.Error(), "outputs [spatial]: this encoder serves no named outputs") {
				t.Errorf("named outputs of an encoder that serves none: %v", err)
			}
			if err := enc.Backward(ctx, grad); err == nil || !strings.Contains(err.Error(), "backward without a graph forward") {
				t.Errorf("backward without a graph: %v", err)
			}
			if err := other.Close(); err != nil {
				t.Error(err)
			}
			if err := enc.Close(); err != nil {
				t.Error(err)
			}
			if left, _ := os.ReadDir(segs); len(left) != 0 {
				t.Errorf("segments left: %v", left)
			}
		})
	}
}

// go-plugin's own client pings the plugin, gRPC's health service says the
// service go-plugin checks is serving, and go-plugin's controller shuts the
// plugin down.
func TestPythonSDKHealthAndShutdown(t *testing.T) {
	needPythonSDK(t)
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.ClientPlugins("py-sum", sdk.WireOptions{}),
		Cmd:              exec.Command(sumPlugin(t)),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	defer c.Kill()
	rpc, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := rpc.Ping(); err != nil {
		t.Fatalf("go-plugin's ping: %v", err)
	}
	conn := rpc.(*plugin.GRPCClient).Conn
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(context.Background(), &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil || resp.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Errorf("health of %q: %v, %v", plugin.GRPCServiceName, resp.GetStatus(), err)
	}
	// go-plugin's controller: Shutdown ends the process (without it the
	// host would wait, then kill it).
	if err := conn.Invoke(context.Background(), "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for deadline := time.Now().Add(time.Minute); !c.Exited(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) { // a guard against hanging, not a timing
			t.Fatal("the plugin did not exit after Shutdown")
		}
	}
}

func forward32(t *testing.T, enc sdk.Encoder, req sdk.ForwardRequest) []float32 {
	t.Helper()
	out, err := enc.Forward(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	v, err := out.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func near32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-3 || d < -1e-3 {
			return false
		}
	}
	return true
}
