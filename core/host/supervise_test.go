package host_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/convirt/convirt/core/clock"
	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
)

// startErr starts mode and returns the start error.
func startErr(t *testing.T, mode string, tweak func(*host.Spec)) error {
	t.Helper()
	spec := plugintest.Spec(mode)
	spec.StartTimeout = 10 * time.Second
	if tweak != nil {
		tweak(&spec)
	}
	c, err := host.Start(context.Background(), spec)
	if err == nil {
		c.Kill()
		t.Fatalf("mode %s started", mode)
	}
	t.Log(err)
	return err
}

func TestCrashIsReportedWithStderrTail(t *testing.T) {
	// The supervisor's clock stands still: the crash must be detected from
	// the process's exit, not from the wait that gives up on it.
	clk := clock.NewFake(time.Unix(0, 0))
	enc := startScale(t, func(s *host.Spec) { s.Clock = clk })
	ctx := context.Background()
	if err := enc.Configure(ctx, map[string]any{"scale": 1.0}); err != nil {
		t.Fatal(err)
	}
	_, err := enc.Forward(ctx, sdk.ForwardRequest{Batch: &sdk.Batch{Images: ramp(t, 1, 1, 2, 2), Texts: []string{"panic"}}})
	var ee *host.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an ExitError", err)
	}
	msg := err.Error()
	for _, want := range []string{`plugin "scale": Forward: plugin "scale" (pid`, "exited unexpectedly (exit status 2)", "panic: scale plugin exploded on purpose"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	select {
	case <-enc.Process().Done():
	default:
		t.Fatal("Done not closed after the crash")
	}
	if !errors.As(enc.Process().Err(), &ee) {
		t.Fatalf("Err() = %v", enc.Process().Err())
	}
	// A call after the crash names the plugin too.
	if err := enc.Step(ctx, sdk.StepRequest{}); err == nil || !strings.Contains(err.Error(), `plugin "scale"`) {
		t.Fatalf("call after crash: %v", err)
	}
}

// A line on stdout before the handshake (within the limit) goes to the
// plugin's log; the plugin starts.
func TestStdoutBeforeHandshake(t *testing.T) {
	log := &syncBuffer{}
	spec := plugintest.Spec(plugintest.ModeStdout)
	spec.Log = log
	c, err := host.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "hello from a chatty plugin"; !strings.Contains(log.String(), want) {
		t.Fatalf("the plugin log lacks %q:\n%s", want, log.String())
	}
}

func TestProtocolVersionMismatch(t *testing.T) {
	err := startErr(t, plugintest.ModeBadVersion, nil)
	want := fmt.Sprintf(`plugin "scale" speaks plugin protocol version 99 but this host speaks version %d`, sdk.ProtocolVersion)
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one line starting %q, got %q", want, err)
	}
}

func TestHandshakeCookieMismatch(t *testing.T) {
	err := startErr(t, plugintest.ModeBadCookie, nil)
	for _, want := range []string{`plugin "scale" exited before the handshake (exit status 1)`, "This binary is a plugin"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error lacks %q: %v", want, err)
		}
	}
}

func TestStartTimeout(t *testing.T) {
	start := time.Now()
	err := startErr(t, plugintest.ModeSlow, func(s *host.Spec) { s.StartTimeout = 300 * time.Millisecond })
	if !strings.Contains(err.Error(), `plugin "scale" did not complete the handshake within 300ms`) {
		t.Fatalf("error = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %s", d)
	}
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	actual, err := host.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	recorded := strings.Repeat("ab", 32)
	_, err = host.Start(context.Background(), host.Spec{Name: "x", Path: bin, SHA256: recorded})
	var ce *host.ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), actual) || !strings.Contains(err.Error(), recorded) || !strings.Contains(err.Error(), `plugin "x"`) {
		t.Fatalf("error = %v", err)
	}
}

// TestNoOrphanAfterHostSIGKILL runs a host process that starts a plugin,
// SIGKILLs the host and checks that the kernel ends the plugin too.
func TestNoOrphanAfterHostSIGKILL(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), plugintest.HostEnv)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "pid %d", &pid); err != nil || serr != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("host said %q: %v %v", line, err, serr)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running before the kill", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := waitExit(pid, hangLimit); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("plugin %d outlived its SIGKILLed host: %v", pid, err)
	}
	if alive(pid) {
		t.Fatalf("plugin %d still runs after its exit was reported", pid)
	}
}

// alive reports whether pid runs (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
