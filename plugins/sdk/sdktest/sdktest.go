// Package sdktest runs a plugin in a process of its own for a test, over
// the real wire, with nothing but the SDK: the test binary doubles as the
// plugin. A plugin's tests use it to check that what crosses the process
// boundary (configs, tensors, errors) arrives as it left; they need no
// host, which plugins may not import (the host's own supervision is tested
// in core/host). Capped runs a test in a re-run test binary under a memory
// cap, so that a read or allocation without bound fails the test instead
// of the machine.
//
//	func TestMain(m *testing.M) {
//		sdktest.Main(builtin.Serve) // serves the plugin Start asks for
//		os.Exit(m.Run())
//	}
//
//	ev := sdktest.Start(t, "linear", sdk.KindEvaluator).(sdk.Evaluator)
package sdktest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// EnvServe names the plugin a test binary started by Start serves.
const EnvServe = "CONVIRT_SDKTEST_SERVE"

// Main makes a test binary that was re-run as a plugin serve it, through
// serve, and exit; otherwise (no sdk.Handshake cookie in the environment)
// it returns. serve gets the name in EnvServe: the plugin Start asks for
// (e.g. builtin.Serve serves that built-in), or "" when whatever started
// the binary named none, so that a binary with one plugin serves it from
// serve whatever the name. Call it first in TestMain; it is the one way a
// test binary serves itself as a plugin, for plugins' tests and, through
// core/host/plugintest, for the host's.
func Main(serve func(name string) error) {
	if os.Getenv(sdk.Handshake.MagicCookieKey) == "" {
		return
	}
	if err := serve(os.Getenv(EnvServe)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Start re-runs the test binary as the plugin name, completes go-plugin's
// gRPC handshake with it (AutoMTLS, the SDK's default wire options), and
// returns its client, which implements the sdk interface of kind (Encoder,
// Loss, Dataset or Evaluator). The binary serves name through Main. The
// plugin is closed and its process stopped when
// the test ends.
func Start(t testing.TB, name string, kind sdk.Kind) sdk.Plugin {
	t.Helper()
	if !kind.Valid() {
		t.Fatalf("sdktest: unknown kind %q", kind)
	}
	var wire sdk.WireOptions
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), EnvServe+"="+name, shm.EnvDir+"="+shm.Dir())
	cmd.Env = append(cmd.Env, wire.Env()...)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.ClientPlugins(name, wire),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  sdk.GRPCDialOptions(wire),
		Logger:           hclog.New(&hclog.LoggerOptions{Name: name, Output: io.Discard}),
		Stderr:           io.Discard,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		t.Fatalf("sdktest: start plugin %q: %v", name, err)
	}
	raw, err := rpc.Dispense(string(kind))
	if err != nil {
		client.Kill()
		t.Fatalf("sdktest: plugin %q: %v", name, err)
	}
	p, ok := raw.(sdk.Plugin)
	if !ok {
		client.Kill()
		t.Fatalf("sdktest: plugin %q: dispensed %T, not a plugin", name, raw)
	}
	t.Cleanup(func() {
		_ = p.Close()
		client.Kill()
	})
	return p
}
