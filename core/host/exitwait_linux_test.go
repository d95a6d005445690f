package host_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// sysPidfdOpen is pidfd_open(2)'s number, the same on every Linux
// architecture.
const sysPidfdOpen = 434

// waitExit returns once process pid has ended (a zombie counts), without
// polling: a pidfd becomes readable when its process ends. It gives up
// after limit, which only guards against a hang.
func waitExit(pid int, limit time.Duration) error {
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno == syscall.ESRCH {
		return nil // gone already
	}
	if errno != 0 {
		return fmt.Errorf("pidfd_open %d: %w", pid, errno)
	}
	defer syscall.Close(int(fd))
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer syscall.Close(ep)
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, int(fd), &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	events := make([]syscall.EpollEvent, 1)
	for {
		n, err := syscall.EpollWait(ep, events, int(limit.Milliseconds()))
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("process %d still running after %s", pid, limit)
		}
		return nil
	}
}

// TestWaitExit: waitExit reports a process that ended, and one that runs
// (this test binary) as still running once the limit passes.
func TestWaitExit(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	if err := waitExit(cmd.Process.Pid, hangLimit); err != nil { // a zombie until Wait
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := waitExit(os.Getpid(), time.Millisecond); err == nil {
		t.Fatal("waitExit reported this running process as ended")
	}
}
