package experiment

import (
	"os"
	"testing"

	"github.com/convirt/convirt/core/host/plugintest"
	"github.com/convirt/convirt/core/launch"
	"github.com/convirt/convirt/registry"
)

// The test binary doubles as the plugins it starts: the host re-runs it as
// `plugin serve NAME` for the built-ins the tests register.
func TestMain(m *testing.M) {
	plugintest.Main()
	os.Exit(m.Run())
}

// testLauncher starts the built-ins registered in this test binary, served
// by it (plugintest.Main).
func testLauncher() *launch.Launcher {
	return &launch.Launcher{Registry: &registry.Registry{Builtins: plugintest.Builtins()}}
}
