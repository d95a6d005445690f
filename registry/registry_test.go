package registry_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/plugins/sdk"
	"github.com/convirt/convirt/registry"
)

func TestMain(m *testing.M) {
	plugintest.Main()
	os.Exit(m.Run())
}

func TestInstallListSpecVerifyAndTamper(t *testing.T) {
	t.Setenv(plugintest.EnvMode, plugintest.ModeScale) // what the installed copy serves
	dir := t.TempDir()
	t.Setenv(registry.EnvDir, dir)
	reg, err := registry.Open("")
	if err != nil || reg.Dir != dir {
		t.Fatalf("Open = %+v, %v", reg, err)
	}
	ctx := context.Background()
	m, err := reg.Install(ctx, os.Args[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "scale" || m.Kind != sdk.KindEncoder || m.Version != "1.2.3" || m.ProtocolVersion != sdk.ProtocolVersion || len(m.SHA256) != 64 || len(m.Schema.Fields) != 2 {
		t.Fatalf("manifest = %+v", m)
	}
	list, err := reg.List()
	if err != nil || len(list) != 1 || list[0].SHA256 != m.SHA256 || list[0].Binary != m.Binary {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if checks, err := reg.Verify(); err != nil || len(checks) != 1 || checks[0].Err != nil {
		t.Fatalf("Verify = %+v, %v", checks, err)
	}

	spec, err := reg.Spec("scale")
	if err != nil || spec.Path != m.Binary || spec.SHA256 != m.SHA256 {
		t.Fatalf("Spec = %+v, %v", spec, err)
	}
	enc, err := host.StartEncoder(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}

	// Tamper with the installed binary: start refuses, verify reports.
	f, err := os.OpenFile(m.Binary, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tampered"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = host.Start(ctx, spec)
	var ce *host.ChecksumError
	if !errors.As(err, &ce) || ce.Recorded != m.SHA256 || ce.Actual == m.SHA256 || !strings.Contains(err.Error(), ce.Actual) || !strings.Contains(err.Error(), m.SHA256) {
		t.Fatalf("start of tampered binary: %v", err)
	}
	checks, err := reg.Verify()
	if err != nil || len(checks) != 1 || !errors.Is(checks[0].Err, registry.ErrMismatch) {
		t.Fatalf("Verify after tamper = %+v, %v", checks, err)
	}
}

func TestBuiltinsResolveWithoutInstall(t *testing.T) {
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg.Builtins = plugintest.Builtins()
	spec, err := reg.Spec("builtin-dot")
	if err != nil || !spec.BuiltIn || spec.Kind != sdk.KindLoss {
		t.Fatalf("Spec = %+v, %v", spec, err)
	}
	m, err := reg.Describe(context.Background(), "builtin-scale")
	if err != nil || !m.BuiltIn || m.Kind != sdk.KindEncoder || len(m.Schema.Fields) != 2 {
		t.Fatalf("Describe = %+v, %v", m, err)
	}
	if _, err := reg.Spec("nope"); err == nil || !strings.Contains(err.Error(), `plugin "nope" is neither built in nor installed`) {
		t.Fatalf("Spec(nope) error = %v", err)
	}
}

// TestBuiltinsAreWhatTheRegistryIsGiven: the registry knows the built-ins
// it is handed (Registry.Builtins), none of its own, and serves one with
// the arguments its Args gives.
func TestBuiltinsAreWhatTheRegistryIsGiven(t *testing.T) {
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Spec("builtin-dot"); err == nil || !strings.Contains(err.Error(), "neither built in nor installed") {
		t.Fatalf("a registry given no built-ins: Spec(builtin-dot) error = %v", err)
	}
	if all, err := reg.BuiltinManifests(context.Background()); err != nil || len(all) != 0 {
		t.Fatalf("a registry given no built-ins lists %v (%v)", all, err)
	}
	reg.Builtins = registry.Builtins{Entries: plugintest.Builtins().Entries,
		Args: func(name string) []string { return []string{"serve-me", name} }}
	spec, err := reg.Spec("builtin-dot")
	if err != nil || !spec.BuiltIn || !slices.Equal(spec.Args, []string{"serve-me", "builtin-dot"}) {
		t.Fatalf("Spec = %+v, %v; want the built-in with the arguments Args gives", spec, err)
	}
	reg.Builtins.Args = nil
	if _, err := reg.Spec("builtin-dot"); err == nil || !strings.Contains(err.Error(), `"builtin-dot"`) {
		t.Fatalf("no Args: Spec error = %v, want one naming the plugin", err)
	}
}

func TestInstallRefusesNonPlugin(t *testing.T) {
	reg, _ := registry.Open(t.TempDir())
	bin := t.TempDir() + "/notaplugin"
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := reg.Install(context.Background(), bin, nil)
	if err == nil || !strings.Contains(err.Error(), "exited before the handshake (exit status 0)") || !strings.Contains(err.Error(), "stdout: hi") {
		t.Fatalf("error = %v", err)
	}
	if list, _ := reg.List(); len(list) != 0 {
		t.Fatalf("a failed install left %v", list)
	}
}

// Installing a plugin that writes a 1 MiB line to stdout before its
// handshake, then sleeps, fails at once with the limit and how to raise it,
// and installs nothing.
func TestInstallRefusesLongStdoutLine(t *testing.T) {
	t.Setenv(plugintest.EnvMode, plugintest.ModeLongLine)
	reg, _ := registry.Open(t.TempDir())
	done := make(chan error, 1)
	go func() {
		_, err := reg.Install(context.Background(), os.Args[0], nil)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("install still waiting after 30s")
	}
	if err == nil || !strings.Contains(err.Error(), "wrote more than 65536 bytes to stdout before its handshake") || !strings.Contains(err.Error(), host.EnvStdoutLimit+"=") {
		t.Fatalf("error = %v", err)
	}
	if list, _ := reg.List(); len(list) != 0 {
		t.Fatalf("a failed install left %v", list)
	}
}
