// Package host starts and supervises plugin processes. Start launches a
// built-in plugin (served by an executable, e.g. convirt, with the arguments
// the caller gives) or an external executable,
// completes go-plugin's gRPC handshake with AutoMTLS and explicit message
// limits, checks the plugin's identity and protocol version, and returns a
// client implementing the plugin's sdk interface. A plugin that dies, before
// its handshake or after, is reported at once, by name, with its last stderr
// lines (an *ExitError); no plugin outlives the host (Pdeathsig on Linux);
// plugin logs go to the writer the caller gives.
//
// An external binary with a recorded sha256 runs from exactly the bytes
// that were hashed (the open file, or a private copy), so replacing it
// between the check and the start cannot run anything else. The host reads
// the plugin's stdout itself: a plugin that writes more than a limit
// ($CONVIRT_PLUGIN_STDOUT_LIMIT) before its handshake is stopped with an
// error saying so, and a process the plugin started that holds its pipes
// cannot keep the host waiting.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/thp"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/schema"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
)

// DefaultStartTimeout bounds the handshake when Spec.StartTimeout is zero.
const DefaultStartTimeout = 30 * time.Second

// Spec says which plugin to start and how.
type Spec struct {
	Name string   // the plugin's name; Info must report the same
	Kind sdk.Kind // expected kind; empty accepts whatever the plugin is

	// BuiltIn serves the built-in Name by running Exe with Args; which
	// arguments do that is the serving executable's business (for convirt,
	// `plugin serve NAME`, which cmd/convirt gives through the registry).
	BuiltIn bool
	Exe     string // executable that serves built-ins; default os.Executable()

	Path   string   // external plugin executable (when not BuiltIn)
	Args   []string // arguments for Path, or for Exe when BuiltIn
	SHA256 string   // expected hex sha256 of Path; empty skips the check

	// Log receives the plugin's logs and the supervisor's, as hclog text
	// lines; nil discards them. LogLevel defaults to Info.
	Log      io.Writer
	LogLevel hclog.Level

	StartTimeout time.Duration   // default DefaultStartTimeout
	Wire         sdk.WireOptions // message limit and shared-memory threshold
	Env          []string        // extra environment entries

	// StdoutLimit is how many bytes the plugin may write to stdout before
	// its handshake line; lines before it go to Log, and a plugin that
	// writes more is stopped. Zero means $CONVIRT_PLUGIN_STDOUT_LIMIT, or
	// DefaultStdoutLimit.
	StdoutLimit int

	// CheckConfig, when set, validates every config against the plugin's
	// schema before Configure sends it (e.g. built on schema.Schema.Check).
	CheckConfig func(s schema.Schema, cfg map[string]any) error

	// Clock times the supervisor's own waits (how long a failed call
	// waits to learn whether the plugin died); nil is the system clock.
	// Tests pass a clock.Fake.
	Clock clock.Clock
}

// label names the plugin in messages.
func (s Spec) label() string {
	if s.Name != "" {
		return fmt.Sprintf("plugin %q", s.Name)
	}
	return fmt.Sprintf("plugin %s", s.Path)
}

// stdoutLimit is the stdout limit before the handshake.
func (s Spec) stdoutLimit() (int, error) {
	if s.StdoutLimit > 0 {
		return s.StdoutLimit, nil
	}
	v := os.Getenv(EnvStdoutLimit)
	if v == "" {
		return DefaultStdoutLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("environment %s=%q: want a positive number of bytes", EnvStdoutLimit, v)
	}
	return n, nil
}

// command builds the plugin's command line. For a binary with a recorded
// sha256 it also returns the verified bytes, which are what will run.
func (s Spec) command() (*exec.Cmd, *verifiedExe, error) {
	var cmd *exec.Cmd
	var exe *verifiedExe
	switch {
	case s.BuiltIn:
		if len(s.Args) == 0 {
			return nil, nil, fmt.Errorf("built-in plugin %q: no arguments that serve it (Spec.Args)", s.Name)
		}
		exe := s.Exe
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, nil, fmt.Errorf("finding the convirt executable: %w", err)
			}
		}
		cmd = exec.Command(exe, s.Args...)
	case s.Path != "":
		if s.SHA256 != "" {
			var err error
			if exe, err = openVerified(s.Path, s.SHA256); err != nil {
				return nil, nil, err
			}
		}
		cmd = exec.Command(s.Path, s.Args...)
	default:
		return nil, nil, errors.New("spec names neither a built-in nor a path")
	}
	// The host's environment first, so that ours wins (go-plugin is told to
	// skip adding it again); glibc's malloc asked for huge pages unless the
	// environment says otherwise (package thp).
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Env = append(append(cmd.Env, s.Wire.Env()...), shm.EnvDir+"="+shm.Dir())
	cmd.Env, _ = thp.Environ(cmd.Env)
	bindToHost(cmd)
	return cmd, exe, nil
}

// Client is a started plugin: one of *Encoder, *Loss, *Dataset and
// *Evaluator, which implement the sdk interface of their kind. Close asks
// the plugin to release its resources and stops the process.
type Client interface {
	sdk.Plugin
	// Process is the supervised plugin process.
	Process() *Process
	// Kill stops the process at once.
	Kill()
}

// Start launches the plugin spec describes and returns its client once the
// handshake and the identity check have passed. Cancelling ctx aborts the
// start; it does not stop a plugin that started.
func Start(ctx context.Context, spec Spec) (Client, error) {
	if spec.Kind != "" && !spec.Kind.Valid() {
		return nil, fmt.Errorf("%s: unknown kind %q", spec.label(), spec.Kind)
	}
	limit, err := spec.stdoutLimit()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.label(), err)
	}
	cmd, exe, err := spec.command()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.label(), err)
	}
	p := newProcess(spec, cmd, exe, limit)
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	c, err := p.dispense(ctx)
	if err != nil {
		p.Kill()
		return nil, err
	}
	return c, nil
}

// newProcess prepares the go-plugin client for cmd; exe, when not nil, is
// the verified binary cmd runs.
func newProcess(spec Spec, cmd *exec.Cmd, exe *verifiedExe, limit int) *Process {
	p := &Process{spec: spec, label: spec.label(), done: make(chan struct{}), stop: make(chan struct{})}
	out := spec.Log
	if out == nil {
		out = io.Discard
	}
	lvl := spec.LogLevel
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	name := spec.Name
	if name == "" {
		name = "plugin"
	}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: name, Output: out, Level: lvl})
	p.log = logger
	stdout, stdoutTail := logger.Named("stdout"), p.tail.writer("fd1")
	p.runner = newRunner(cmd, exe, cmd.Path, limit, func(line string) {
		stdout.Info(line, "stream", "stdout")
		stdoutTail.addLine("stdout: " + line)
	})
	timeout := spec.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	p.timeout = timeout
	dial := append(sdk.GRPCDialOptions(spec.Wire), grpc.WithChainUnaryInterceptor(p.intercept))
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.ClientPlugins(spec.Name, spec.Wire),
		RunnerFunc:       p.runnerFunc(cmd),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		Logger:           logger,
		Stderr:           p.tail.writer("stderr"),
		SyncStdout:       &logLines{log: logger.Named("stdout"), stream: "stdout", tail: p.tail.writer("stdout")},
		SyncStderr:       &logLines{log: logger.Named("stderr"), stream: "stderr", tail: p.tail.writer("stdio")},
		StartTimeout:     timeout,
		GRPCDialOptions:  dial,
	})
	return p
}

// runnerFunc hands go-plugin the process's runner, adding the handshake
// environment that go-plugin put on its own command to cmd's.
func (p *Process) runnerFunc(cmd *exec.Cmd) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, gp *exec.Cmd, _ string) (runner.Runner, error) {
		cmd.Env = append(cmd.Env, gp.Env...)
		return p.runner, nil
	}
}
