//go:build !linux

package sdk

import (
	"os"
	"time"

	"github.com/convirt/convirt/plugins/sdk/shm"
	"github.com/hashicorp/go-hclog"
)

// exitWithParent ends the process when its parent (the host) is gone, where
// the kernel has no Pdeathsig to do it.
func exitWithParent(logger hclog.Logger) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			logger.Error("host process is gone, exiting", "host_pid", parent)
			_, _ = shm.Sweep(os.Getpid())
			os.Exit(3)
		}
	}
}
