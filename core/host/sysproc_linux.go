package host

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// bindToHost makes the kernel SIGKILL the plugin when the host dies, even by
// SIGKILL. Pdeathsig fires when the thread that started the child exits; the
// Go runtime keeps its threads alive unless a goroutine exits while locked to
// one, which nothing on the starting path does. The plugin also leads a
// process group of its own, so that stopping it stops the processes it
// started (a plugin that is a shell script running a program): otherwise
// such a process could keep the plugin's stdout and stderr open and the host
// waiting on them.
func bindToHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// killTree SIGKILLs the plugin process p and its process group.
func killTree(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err == nil || !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// killLeftovers SIGKILLs what remains of the process group of the plugin
// pid after the plugin itself has exited.
func killLeftovers(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL) // ESRCH: nothing left
}

// fdExecPath returns a path through which a child process that inherits a
// file as descriptor fd executes that very file: /proc/self/fd/N, where
// /proc is mounted.
func fdExecPath(fd int) (string, bool) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return "", false
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), true
}
