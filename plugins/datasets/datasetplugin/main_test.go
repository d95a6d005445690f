package datasetplugin

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/convirt/convirt/plugins/datasets/synth"
	"github.com/hashicorp/go-hclog"
)

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

// shared returns a synthetic corpus written once for the tests that only
// read it; tests that damage data write their own.
func shared(t *testing.T) string {
	t.Helper()
	sharedOnce.Do(func() {
		if sharedDir, sharedErr = os.MkdirTemp("", "convirt-dataset"); sharedErr == nil {
			sharedErr = synth.Write(context.Background(), sharedDir, synth.Config{Studies: 40, Size: 32, Seed: 1, UncertainP: 0.25})
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// configured returns the plugin for dataset name configured with cfg,
// logging nowhere.
func configured(t *testing.T, name string, cfg map[string]any) *Plugin {
	t.Helper()
	p := New(name, "")
	p.SetLogger(hclog.NewNullLogger())
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("%s %v: %v", name, cfg, err)
	}
	return p
}
