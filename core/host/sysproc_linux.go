package host

import (
	"os/exec"
	"syscall"
)

// bindToHost makes the kernel SIGKILL the plugin when the host dies, even by
// SIGKILL. Pdeathsig fires when the thread that started the child exits; the
// Go runtime keeps its threads alive unless a goroutine exits while locked to
// one, which nothing on the starting path does.
func bindToHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
