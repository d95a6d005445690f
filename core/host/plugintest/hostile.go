package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/convirt/convirt/core/host"
	"github.com/convirt/convirt/plugins/sdk"
)

// LongLineBytes is how much ModeLongLine and its relatives write to stdout
// before a newline: 1 MiB.
const LongLineBytes = 1 << 20

// LongLineByte is the byte the long line repeats.
const LongLineByte = 'x'

// SelfHashPrefix starts the Info.Description of ModeSelfHash; the hex
// sha256 of the executable the process runs follows it.
const SelfHashPrefix = "executable sha256 "

// serveHostile serves the modes that misbehave on purpose; serve hands it
// every mode it does not know.
func serveHostile(mode string) error {
	switch mode {
	case ModeLongLine:
		writeLongLine()
		time.Sleep(time.Minute) // the host stops it long before
		return nil
	case ModeLongLineThenServe:
		writeLongLine()
		return sdk.Serve(sdk.ServeConfig{Encoder: &Scale{}})
	case ModeGrandchildLongLine, ModeGrandchildSlow:
		// Like a shell script that runs a program: the child shares this
		// process's stdout and stderr and is not tied to its life.
		child := ModeLongLine
		if mode == ModeGrandchildSlow {
			child = ModeSlow
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), EnvMode+"="+child)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "started child %d\n", cmd.Process.Pid)
		time.Sleep(time.Minute)
		return nil
	case ModeKillSelf:
		fmt.Fprintln(os.Stderr, "about to be killed before the handshake")
		self, err := os.FindProcess(os.Getpid())
		if err != nil {
			return err
		}
		if err := self.Kill(); err != nil {
			return err
		}
		time.Sleep(time.Minute) // the signal arrives first
		return nil
	case ModeSelfHash:
		sum, err := selfHash()
		if err != nil {
			return err
		}
		return sdk.Serve(sdk.ServeConfig{Encoder: &Scale{Description: SelfHashPrefix + sum}})
	}
	return fmt.Errorf("plugintest: unknown mode %q", mode)
}

// writeLongLine writes LongLineBytes bytes and a newline to stdout in one
// write.
func writeLongLine() {
	b := []byte(strings.Repeat(string(rune(LongLineByte)), LongLineBytes) + "\n")
	_, _ = os.Stdout.Write(b)
}

// selfHash returns the hex sha256 of the executable this process runs:
// /proc/self/exe on Linux opens the very file that was executed, even if
// its path now names another.
func selfHash() (string, error) {
	path := "/proc/self/exe"
	if _, err := os.Stat(path); err != nil {
		if path, err = os.Executable(); err != nil {
			return "", err
		}
	}
	return host.FileSHA256(path)
}
