//go:build !linux

package host

import (
	"errors"
	"os"
	"os/exec"
)

// bindToHost does nothing where Pdeathsig does not exist; plugins built on
// the SDK exit on their own when their parent goes away (sdk.Serve).
func bindToHost(*exec.Cmd) {}

// killTree SIGKILLs the plugin process p.
func killTree(p *os.Process) error {
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// killLeftovers does nothing: the plugin has no process group of its own.
func killLeftovers(int) {}

// fdExecPath reports that an open file cannot be executed here: plugins run
// from a private copy of the verified bytes instead.
func fdExecPath(int) (string, bool) { return "", false }
