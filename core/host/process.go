package host

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Process is a supervised plugin process.
type Process struct {
	spec    Spec
	label   string
	timeout time.Duration
	client  *plugin.Client
	runner  *procRunner
	log     hclog.Logger
	tail    tail
	pid     int
	info    sdk.Info
	base    sdk.Plugin

	done      chan struct{} // closed when the process has exited
	stop      chan struct{} // closed by Close/Kill: the exit is expected
	stopOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// Name is the plugin's name.
func (p *Process) Name() string { return p.info.Name }

// PID is the plugin's process id.
func (p *Process) PID() int { return p.pid }

// Info is what the plugin reported at start.
func (p *Process) Info() sdk.Info { return p.info }

// Done is closed when the process has exited, expectedly or not.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err describes how the process ended: nil while it runs or after a Close
// or Kill, an *ExitError when it died on its own.
func (p *Process) Err() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	select {
	case <-p.stop:
		return nil
	default:
	}
	return p.exitError()
}

// ExitError reports a plugin process that exited unexpectedly: during a
// call, or before its handshake (Start's error then wraps an *ExitError,
// so that errors.As finds it either way and a caller that restarts dead
// plugins restarts one that died while starting too).
type ExitError struct {
	Plugin string   // the plugin's name
	PID    int      // its process id
	Status string   // e.g. "exit status 2", "signal: killed"
	Stderr []string // its last stderr lines, oldest first
}

// Error implements error.
func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %q (pid %d) exited unexpectedly", e.Plugin, e.PID)
	if e.Status != "" {
		fmt.Fprintf(&b, " (%s)", e.Status)
	}
	writeTail(&b, e.Stderr)
	return b.String()
}

// writeTail appends stderr lines to an error message.
func writeTail(b *strings.Builder, lines []string) {
	if len(lines) == 0 {
		b.WriteString("; it wrote nothing to stderr")
		return
	}
	b.WriteString("; last stderr lines:")
	for _, l := range lines {
		b.WriteString("\n    " + l)
	}
}

// exitError builds the ExitError of a process that has exited.
func (p *Process) exitError() *ExitError {
	name := p.info.Name
	if name == "" {
		name = p.spec.Name
	}
	return &ExitError{Plugin: name, PID: p.pid, Status: p.runner.status(), Stderr: p.tail.snapshot()}
}

// startExitError is the error of a start that failed because the process
// ended before its handshake: the start's message, unwrapping to the
// *ExitError.
type startExitError struct {
	msg  string
	exit *ExitError
}

// Error implements error.
func (e *startExitError) Error() string { return e.msg }

// Unwrap returns the *ExitError.
func (e *startExitError) Unwrap() error { return e.exit }

// start runs the handshake and starts watching the process.
func (p *Process) start(ctx context.Context) error {
	type result struct{ err error }
	ch := make(chan result, 1)
	go func() {
		_, err := p.client.Start()
		ch <- result{err}
	}()
	var err error
	select {
	case r := <-ch:
		err = r.err
	case <-ctx.Done():
		_ = p.runner.Kill(context.Background()) // go-plugin's Start returns once the process is gone
		<-ch
		p.client.Kill()
		return fmt.Errorf("%s: start: %w", p.label, ctx.Err())
	}
	p.pid = p.runner.pid()
	if err != nil {
		p.client.Kill()
		p.runner.exe.release() // go-plugin may have failed before executing it
		return p.startError(err)
	}
	go p.watch()
	return nil
}

var versionRE = regexp.MustCompile(`Plugin version: (\d+), Client versions: \[([\d ]+)\]`)

// startError turns go-plugin's start failures into one clear message.
func (p *Process) startError(err error) error {
	msg := err.Error()
	var b strings.Builder
	var ce *ChecksumError
	switch over := p.runner.overflowError(); {
	case over != nil:
		first := fmt.Sprintf("%q", over.first)
		if len(over.first) == 64 {
			first = strings.TrimSuffix(first, `"`) + `..."`
		}
		fmt.Fprintf(&b, "%s wrote more than %d bytes to stdout before its handshake, starting %s; stdout carries go-plugin's handshake line, so a plugin should log to stderr; to allow more, run convirt with %s=BYTES (now %d)",
			p.label, over.limit, first, EnvStdoutLimit, over.limit)
		if lines := p.tail.snapshot(); len(lines) > 0 {
			writeTail(&b, lines)
		}
		return errors.New(b.String())
	case errors.As(err, &ce):
		return fmt.Errorf("%s: %w", p.label, err)
	case versionRE.MatchString(msg):
		m := versionRE.FindStringSubmatch(msg)
		return fmt.Errorf("%s speaks plugin protocol version %s but this host speaks version %s: rebuild the plugin against a matching convirt SDK",
			p.label, m[1], m[2])
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		fmt.Fprintf(&b, "%s did not complete the handshake within %s", p.label, p.timeout)
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"), // stdout closed without a handshake
		strings.Contains(msg, "plugin exited before we could connect"):
		<-p.runner.exited // go-plugin has killed it if it had not exited
		exit := p.exitError()
		fmt.Fprintf(&b, "%s exited before the handshake (%s)", p.label, exit.Status)
		writeTail(&b, exit.Stderr)
		return &startExitError{msg: b.String(), exit: exit}
	default:
		return fmt.Errorf("%s: start: %w", p.label, err)
	}
	writeTail(&b, p.tail.snapshot())
	return errors.New(b.String())
}

// watch closes done as soon as the process has exited.
func (p *Process) watch() {
	<-p.runner.exited
	close(p.done)
	if _, err := shm.Sweep(p.pid); err != nil {
		p.log.Warn("removing the plugin's shared-memory segments", "error", err)
	}
}

// intercept replaces the transport error of a call that failed because the
// plugin died with an *ExitError naming the plugin and its last words.
func (p *Process) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil || ctx.Err() != nil {
		return err
	}
	if c := status.Code(err); c != codes.Unavailable && c != codes.Internal && c != codes.Canceled {
		return err
	}
	select {
	case <-p.done:
	case <-clock.Or(p.spec.Clock).After(2 * time.Second):
		return err
	}
	select {
	case <-p.stop:
		return fmt.Errorf("plugin %q was stopped: %s", p.spec.Name, status.Convert(err).Message())
	default:
	}
	return p.exitError()
}

// dispense checks the plugin's identity and returns its typed client.
func (p *Process) dispense(ctx context.Context) (Client, error) {
	rpc, err := p.client.Client()
	if err != nil {
		return nil, fmt.Errorf("%s: connecting: %w", p.label, err)
	}
	raw, err := rpc.Dispense(sdk.ProbeName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.label, err)
	}
	probe := raw.(sdk.Plugin)
	ictx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	info, err := probe.Info(ictx)
	if err != nil {
		return nil, err
	}
	p.info, p.base = info, probe
	switch {
	case info.ProtocolVersion != sdk.ProtocolVersion:
		return nil, fmt.Errorf("%s speaks plugin protocol version %d but this host speaks version %d", p.label, info.ProtocolVersion, sdk.ProtocolVersion)
	case p.spec.Kind != "" && info.Kind != p.spec.Kind:
		return nil, fmt.Errorf("%s is a %s plugin, not a %s plugin", p.label, info.Kind, p.spec.Kind)
	case p.spec.Name != "" && info.Name != p.spec.Name:
		return nil, fmt.Errorf("%s reports its name as %q", p.label, info.Name)
	case !info.Kind.Valid():
		return nil, fmt.Errorf("%s reports unknown kind %q", p.label, info.Kind)
	}
	raw, err = rpc.Dispense(string(info.Kind))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.label, err)
	}
	return wrap(p, raw)
}

// Close asks the plugin to release its resources, stops the process and
// removes the shared-memory segments it left. It returns the plugin's Close
// error, if any; calling it again returns the same.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		p.stopOnce.Do(func() { close(p.stop) })
		select {
		case <-p.done:
		default:
			if p.base != nil {
				p.closeErr = p.base.Close()
			}
		}
		p.client.Kill()
		<-p.done
	})
	return p.closeErr
}

// Kill stops the process at once without asking the plugin to close.
func (p *Process) Kill() {
	p.stopOnce.Do(func() { close(p.stop) })
	_ = p.runner.Kill(context.Background())
	p.client.Kill()
	if p.pid > 0 {
		<-p.done
	}
}
