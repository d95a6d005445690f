package procs

import (
	"os"
	"os/exec"
	"testing"
)

func TestChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	defer cmd.Process.Kill()
	var found bool
	for _, p := range Children(os.Getpid()) {
		if p.PID == cmd.Process.Pid {
			found = true
			if len(p.Args) != 2 || p.Args[1] != "30" || p.Plugin() != "" {
				t.Errorf("child %+v", p)
			}
		}
	}
	if !found {
		t.Fatal("the child was not listed")
	}
	if got := (Proc{Args: []string{"/bin/convirt", "plugin", "serve", "bert"}}).Plugin(); got != "bert" {
		t.Errorf("Plugin() = %q", got)
	}
}
