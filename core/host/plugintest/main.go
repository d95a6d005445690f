package plugintest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/builtin"
	"github.com/convirt/convirt/plugins/sdk/sdktest"
	"github.com/convirt/convirt/registry"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// EnvMode selects what a re-run test binary serves (see Modes): it is
// sdktest's EnvServe, the mode the name sdktest.Main hands to serve.
const EnvMode = sdktest.EnvServe

// envHost makes a re-run test binary act as a host (HostMain).
const envHost = "CONVIRT_PLUGINTEST_HOST"

// Modes a test binary can be re-run in as a plugin.
const (
	ModeScale      = "scale"       // the Scale encoder
	ModeDot        = "dot"         // the Dot loss
	ModeRamp       = "ramp"        // the Ramp dataset (64x64 images)
	ModeEcho       = "echo"        // the Echo evaluator
	ModeStdout     = "stdout"      // prints to stdout, then serves Scale
	ModeBadVersion = "bad-version" // speaks protocol version 99
	ModeBadCookie  = "bad-cookie"  // expects another magic cookie
	ModeSlow       = "slow"        // sleeps before the handshake

	// Hostile modes (see hostile.go).
	ModeLongLine           = "long-line"            // writes a 1 MiB line to stdout, then sleeps
	ModeLongLineThenServe  = "long-line-then-serve" // writes a 1 MiB line to stdout, then serves Scale
	ModeGrandchildLongLine = "grandchild-long-line" // its child writes a 1 MiB line to the shared stdout; both sleep
	ModeGrandchildSlow     = "grandchild-slow"      // its child holds stdout and stderr open; both sleep
	ModeKillSelf           = "kill-self"            // SIGKILLs itself before the handshake
	ModeSelfHash           = "self-hash"            // serves Scale, reporting the sha256 of its own executable
)

// Main turns the test binary into a plugin or a host when it was started as
// one, and returns otherwise. Call it first in TestMain. A plugin is served
// through sdktest.Main, the one mechanism by which a test binary serves
// itself: the built-in its arguments name (ServeArgs), else the mode in
// EnvMode.
func Main() {
	if os.Getenv(sdk.Handshake.MagicCookieKey) == "" && os.Getenv(envHost) != "" {
		os.Exit(hostMain())
	}
	sdktest.Main(func(mode string) error {
		if len(os.Args) == 4 && slices.Equal(os.Args[1:], ServeArgs(os.Args[3])) {
			return builtin.Serve(os.Args[3])
		}
		return serve(mode)
	})
}

// serve serves one mode.
func serve(mode string) error {
	switch mode {
	case ModeScale, "":
		return sdk.Serve(sdk.ServeConfig{Encoder: &Scale{}})
	case ModeDot:
		return sdk.Serve(sdk.ServeConfig{Loss: Dot{}})
	case ModeRamp:
		return sdk.Serve(sdk.ServeConfig{Dataset: Ramp{H: 64, W: 64}})
	case ModeEcho:
		return sdk.Serve(sdk.ServeConfig{Evaluator: Echo{}})
	case ModeStdout:
		fmt.Println("hello from a chatty plugin")
		return sdk.Serve(sdk.ServeConfig{Encoder: &Scale{}})
	case ModeSlow:
		time.Sleep(time.Minute)
		return sdk.Serve(sdk.ServeConfig{Encoder: &Scale{}})
	case ModeBadVersion, ModeBadCookie:
		hs := sdk.Handshake
		if mode == ModeBadVersion {
			hs.ProtocolVersion = 99
		} else {
			hs.MagicCookieValue = "someone-else"
		}
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         plugin.PluginSet{string(sdk.KindEncoder): emptyPlugin{}},
			GRPCServer:      plugin.DefaultGRPCServer,
		})
		return nil
	}
	return serveHostile(mode)
}

// ServeArgs are the arguments after the test binary that make Main serve
// the built-in name (registered with plugins/sdk/builtin), as
// `convirt plugin serve NAME` does for convirt.
func ServeArgs(name string) []string { return []string{"plugin", "serve", name} }

// Builtins are the built-ins registered in this test binary, served by it
// through Main: what a test hands the registry (registry.Registry.Builtins)
// to start them by name, as cmd/convirt does for convirt's.
func Builtins() registry.Builtins {
	return registry.Builtins{Entries: builtin.List(), Args: ServeArgs}
}

// Spec returns a host.Spec that starts this test binary as the plugin of
// mode (named after the plugin it serves).
func Spec(mode string) host.Spec {
	name := "scale"
	switch mode {
	case ModeDot, ModeRamp, ModeEcho:
		name = mode
	}
	return host.Spec{Name: name, Path: os.Args[0], Env: []string{EnvMode + "=" + mode}}
}

// HostEnv is the environment entry that makes a re-run test binary act as a
// host: it starts the Scale plugin, prints "pid N" (the plugin's pid) and
// waits for its stdin to close.
const HostEnv = envHost + "=1"

// hostMain is the body of a re-run host.
func hostMain() int {
	c, err := host.Start(context.Background(), Spec(ModeScale))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("pid %d\n", c.Process().PID())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = c.Close()
	return 0
}

// emptyPlugin serves nothing: the modes that use it fail the handshake.
type emptyPlugin struct{ plugin.NetRPCUnsupportedPlugin }

// GRPCServer implements plugin.GRPCPlugin.
func (emptyPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

// GRPCClient implements plugin.GRPCPlugin.
func (emptyPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("plugintest: empty plugin has no client")
}
