// Package procs finds the child processes of a process on Linux, through
// /proc: the soak test and the fault tests use it to pick plugin processes
// to kill.
package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one process.
type Proc struct {
	PID  int
	PPID int
	Args []string // its command line
}

// Children lists the live children of parent, in no particular order. It
// returns nothing where /proc does not exist.
func Children(parent int) []Proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []Proc
	for _, st := range stats {
		p, err := read(filepath.Dir(st))
		if err == nil && p.PPID == parent {
			out = append(out, p)
		}
	}
	return out
}

// read reads /proc/<pid>.
func read(dir string) (Proc, error) {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Proc{}, fmt.Errorf("%s/stat: malformed", dir)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return Proc{}, fmt.Errorf("%s/stat: malformed", dir)
	}
	p := Proc{}
	if p.PID, err = strconv.Atoi(filepath.Base(dir)); err != nil {
		return Proc{}, err
	}
	if p.PPID, err = strconv.Atoi(f[1]); err != nil {
		return Proc{}, err
	}
	if cmd, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Args = strings.Split(strings.TrimSuffix(string(cmd), "\x00"), "\x00")
	}
	return p, nil
}

// Plugin returns the built-in plugin name a `convirt plugin serve NAME`
// process serves, or "".
func (p Proc) Plugin() string {
	n := len(p.Args)
	if n >= 3 && p.Args[n-3] == "plugin" && p.Args[n-2] == "serve" {
		return p.Args[n-1]
	}
	return ""
}
