//go:build !linux

package host

import "os/exec"

// bindToHost does nothing where Pdeathsig does not exist; plugins built on
// the SDK exit on their own when their parent goes away (sdk.Serve).
func bindToHost(*exec.Cmd) {}
