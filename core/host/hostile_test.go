package host_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
)

// hangLimit bounds a start that must end quickly; passing it means the host
// hung (the starts below take well under a second when they work).
const hangLimit = 30 * time.Second

// startWithin starts spec and fails the test if Start has not returned
// within hangLimit.
func startWithin(t *testing.T, spec host.Spec) (host.Client, error) {
	t.Helper()
	type result struct {
		c   host.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := host.Start(context.Background(), spec)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Log(r.err)
		}
		return r.c, r.err
	case <-time.After(hangLimit):
		t.Fatalf("host.Start of %s still waiting after %s", spec.Env, hangLimit)
		return nil, nil
	}
}

// wantLongLineError checks the error of a plugin that wrote a 1 MiB line
// to stdout before its handshake.
func wantLongLineError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the plugin started")
	}
	msg := err.Error()
	for _, want := range []string{
		`plugin "scale" wrote more than 65536 bytes to stdout before its handshake`,
		`"` + strings.Repeat(string(rune(plugintest.LongLineByte)), 32), // what it wrote: its first bytes
		host.EnvStdoutLimit + "=BYTES",                                  // how to raise the limit
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, bad := range []string{"wrote nothing", "did not complete the handshake"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error says %q:\n%s", bad, msg)
		}
	}
	if len(msg) > 2000 {
		t.Errorf("the error carries %d bytes of the line", len(msg))
	}
}

// A plugin that writes a 1 MiB line to stdout before its handshake, then
// sleeps, is stopped at once with an error naming the plugin, the limit and
// how to raise it, and showing what it wrote.
func TestLongStdoutLineBeforeHandshake(t *testing.T) {
	spec := plugintest.Spec(plugintest.ModeLongLine)
	spec.StartTimeout = 5 * time.Second
	_, err := startWithin(t, spec)
	wantLongLineError(t, err)
}

// The same line written by a child process of the plugin (a plugin that is a
// shell script running a program) still ends the start: the child is not
// left blocked on the pipe, holding the host.
func TestLongStdoutLineFromAGrandchild(t *testing.T) {
	spec := plugintest.Spec(plugintest.ModeGrandchildLongLine)
	spec.StartTimeout = 5 * time.Second
	_, err := startWithin(t, spec)
	wantLongLineError(t, err)
}

// The handshake timeout fires even when a child of the plugin keeps its
// stdout and stderr open.
func TestStartTimeoutWithAGrandchildHoldingThePipes(t *testing.T) {
	spec := plugintest.Spec(plugintest.ModeGrandchildSlow)
	spec.StartTimeout = 500 * time.Millisecond
	_, err := startWithin(t, spec)
	if err == nil || !strings.Contains(err.Error(), `plugin "scale" did not complete the handshake within 500ms`) {
		t.Fatalf("error = %v", err)
	}
	if !strings.Contains(err.Error(), "started child") {
		t.Errorf("the error lacks the plugin's stderr: %v", err)
	}
}

// Raising the limit lets a plugin that prints a long line before its
// handshake start; the line goes to the plugin's log, clipped.
func TestStdoutLimitCanBeRaised(t *testing.T) {
	t.Setenv(host.EnvStdoutLimit, strconv.Itoa(2*plugintest.LongLineBytes))
	log := &syncBuffer{}
	spec := plugintest.Spec(plugintest.ModeLongLineThenServe)
	spec.Log = log
	c, err := startWithin(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	if !strings.Contains(out, strings.Repeat(string(rune(plugintest.LongLineByte)), 100)) {
		t.Errorf("the line is not in the plugin log:\n%.2000s", out)
	}
	if len(out) > plugintest.LongLineBytes/4 {
		t.Errorf("the plugin log holds %d bytes: the line is not clipped", len(out))
	}

	// Smaller than what the plugin writes: refused, naming the setting.
	t.Setenv(host.EnvStdoutLimit, "1000")
	_, err = startWithin(t, spec)
	if err == nil || !strings.Contains(err.Error(), "wrote more than 1000 bytes") {
		t.Fatalf("error = %v", err)
	}
	for _, bad := range []string{"lots", "-1", "0"} {
		t.Setenv(host.EnvStdoutLimit, bad)
		_, err = host.Start(context.Background(), plugintest.Spec(plugintest.ModeScale))
		if err == nil || !strings.Contains(err.Error(), host.EnvStdoutLimit+`="`+bad+`"`) {
			t.Fatalf("%s=%s: error = %v", host.EnvStdoutLimit, bad, err)
		}
	}
}

// A plugin killed before its handshake fails the start with an *ExitError,
// as a plugin that dies later fails a call, so callers that restart dead
// plugins restart it too.
func TestKilledBeforeHandshakeIsAnExitError(t *testing.T) {
	_, err := startWithin(t, plugintest.Spec(plugintest.ModeKillSelf))
	var ee *host.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *host.ExitError", err)
	}
	if ee.Plugin != "scale" || ee.Status != "signal: killed" || ee.PID <= 0 {
		t.Errorf("ExitError = %+v", ee)
	}
	for _, want := range []string{`plugin "scale" exited before the handshake (signal: killed)`, "about to be killed before the handshake"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	// A plugin that cannot start for another reason is not a death.
	err = startErr(t, plugintest.ModeBadVersion, nil)
	if errors.As(err, &ee) {
		t.Errorf("a version mismatch is an ExitError: %v", err)
	}
}
